package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"ctjournal/domain"
)

// referenceMarshalEvent is the canonical form as encoding/json writes it
// from the envelope's struct: the hand-written MarshalEvent must give
// these bytes, since the log compares stored forms for idempotency.
func referenceMarshalEvent(e domain.CallEvent) ([]byte, error) {
	type refData struct {
		Kind         domain.OrderKind  `json:"kind,omitempty"`
		ClientPhone  string            `json:"client_phone,omitempty"`
		ManagerPhone string            `json:"manager_phone,omitempty"`
		SessionID    string            `json:"calltouch_session_id,omitempty"`
		FormName     string            `json:"form_name,omitempty"`
		ScheduledAt  *time.Time        `json:"scheduled_at,omitempty"`
		Details      map[string]string `json:"details,omitempty"`
		Attempt      int               `json:"attempt,omitempty"`
		TalkSeconds  *int              `json:"talk_seconds,omitempty"`
		Reason       string            `json:"reason,omitempty"`
	}
	type refEvent struct {
		EventID    string           `json:"event_id"`
		Type       domain.EventType `json:"type"`
		OrderID    string           `json:"order_id"`
		WidgetID   string           `json:"widget_id"`
		OccurredAt time.Time        `json:"occurred_at"`
		Data       refData          `json:"data"`
	}
	w := refEvent{EventID: e.EventID, Type: e.Type, OrderID: e.OrderID, WidgetID: e.WidgetID, OccurredAt: e.OccurredAt.UTC()}
	switch e.Type {
	case domain.CallOrdered:
		if e.Order == nil {
			return nil, fmt.Errorf("call.ordered without order data")
		}
		o := e.Order
		w.Data = refData{Kind: o.Kind, ClientPhone: o.ClientPhone, ManagerPhone: o.ManagerPhone,
			SessionID: o.SessionID, FormName: o.FormName, Details: o.Details}
		if o.ScheduledAt != nil {
			at := o.ScheduledAt.UTC()
			w.Data.ScheduledAt = &at
		}
	case domain.CallAnswered:
		w.Data = refData{Attempt: e.Attempt, TalkSeconds: e.TalkSeconds}
	case domain.CallFailed:
		w.Data = refData{Attempt: e.Attempt, Reason: e.FailReason}
	default:
		w.Data = refData{Attempt: e.Attempt}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// checkMatchesReference fails t when MarshalEvent and the reference
// disagree on e, in bytes or in refusing it.
func checkMatchesReference(t testing.TB, e domain.CallEvent) {
	t.Helper()
	got, err := MarshalEvent(e)
	want, refErr := referenceMarshalEvent(e)
	if (err != nil) != (refErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("MarshalEvent(%+v)\ngot  %s, %v\nwant %s, %v", e, got, err, want, refErr)
	}
}

// randomText mixes what the encoder escapes with plain ASCII and Cyrillic.
func randomText(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "<", ">", "&", `"`, `\`, "/", "\n", "\r", "\t", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f",
		"ё", "Форма", "\u2028", "\u2029", "\ufffd", "\xff", "\xc3", "\xe2\x80", "😀", "\U0010ffff"}
	var sb strings.Builder
	for range r.IntN(12) {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randomEvent(r *rand.Rand) domain.CallEvent {
	types := []domain.EventType{domain.CallOrdered, domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt, "other"}
	at := time.Date(1990+r.IntN(120), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(3)*r.IntN(1e9), time.FixedZone("", 3600*(r.IntN(25)-12)))
	e := domain.CallEvent{EventID: randomText(r), Type: types[r.IntN(len(types))], OrderID: randomText(r), WidgetID: randomText(r),
		OccurredAt: at, Attempt: r.IntN(3) * r.IntN(200), FailReason: randomText(r)}
	if r.IntN(2) == 0 {
		talk := r.IntN(3) * r.IntN(100000)
		e.TalkSeconds = &talk
	}
	if e.Type == domain.CallOrdered || r.IntN(4) == 0 {
		o := &domain.OrderData{Kind: domain.OrderKind(randomText(r)), ClientPhone: randomText(r), ManagerPhone: randomText(r),
			SessionID: randomText(r), FormName: randomText(r)}
		if r.IntN(2) == 0 {
			sched := at.Add(time.Duration(r.Int64N(1e15)))
			o.ScheduledAt = &sched
		}
		if n := r.IntN(5); n > 0 || r.IntN(2) == 0 {
			o.Details = map[string]string{}
			for range n {
				o.Details[randomText(r)] = randomText(r)
			}
		}
		e.Order = o
	}
	return e
}

func TestMarshalEvent_MatchesTheReferenceEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 23))
	for range 20000 {
		checkMatchesReference(t, randomEvent(r))
	}
	checkMatchesReference(t, domain.CallEvent{Type: domain.CallOrdered})
	checkMatchesReference(t, domain.CallEvent{Type: domain.CallDialed, OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	checkMatchesReference(t, domain.CallEvent{Type: domain.CallDialed, OccurredAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)})
}

func FuzzCanonicalString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\x00\x1f\"\\", "\u2028\u2029", "\xff\xc3", "Форма"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkMatchesReference(t, domain.CallEvent{EventID: s, Type: domain.CallOrdered, OccurredAt: time.Unix(0, 0),
			Order: &domain.OrderData{FormName: s, Details: map[string]string{s: s, s + "x": ""}}})
	})
}
