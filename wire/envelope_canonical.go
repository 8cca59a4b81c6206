package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ctjournal/domain"
)

// wireEvent is the canonical envelope; its field order is the output order.
type wireEvent struct {
	EventID    string           `json:"event_id"`
	Type       domain.EventType `json:"type"`
	OrderID    string           `json:"order_id"`
	WidgetID   string           `json:"widget_id"`
	OccurredAt time.Time        `json:"occurred_at"` // RFC 3339 with nanoseconds, UTC
	Data       wireData         `json:"data"`
}

// wireData holds every type's data fields; each type fills only its own.
type wireData struct {
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

// MarshalEvent writes the canonical envelope of a parsed event: the form the
// log stores and compares for idempotency (times in UTC, phones normalised,
// data holding only what the type carries and the event states).
func MarshalEvent(e domain.CallEvent) ([]byte, error) {
	w := wireEvent{
		EventID:    e.EventID,
		Type:       e.Type,
		OrderID:    e.OrderID,
		WidgetID:   e.WidgetID,
		OccurredAt: e.OccurredAt.UTC(),
	}
	switch e.Type {
	case domain.CallOrdered:
		if e.Order == nil {
			return nil, fmt.Errorf("marshal event %s: call.ordered without order data", e.EventID)
		}
		o := e.Order
		w.Data = wireData{
			Kind:         o.Kind,
			ClientPhone:  o.ClientPhone,
			ManagerPhone: o.ManagerPhone,
			SessionID:    o.SessionID,
			FormName:     o.FormName,
			Details:      o.Details,
		}
		if o.ScheduledAt != nil {
			at := o.ScheduledAt.UTC()
			w.Data.ScheduledAt = &at
		}
	case domain.CallAnswered:
		w.Data = wireData{Attempt: e.Attempt, TalkSeconds: e.TalkSeconds}
	case domain.CallFailed:
		w.Data = wireData{Attempt: e.Attempt, Reason: e.FailReason}
	default:
		w.Data = wireData{Attempt: e.Attempt}
	}
	b, err := canonicalJSON(w)
	if err != nil {
		return nil, fmt.Errorf("marshal event %s: %w", e.EventID, err)
	}
	return b, nil
}

// UnmarshalEvent reads back what MarshalEvent wrote, also as PostgreSQL
// prints it from JSONB. It trusts its input, as the log holds only parsed
// events: phones are stored digits and are not parsed again (a foreign
// number's digits would not parse under the RU default), and only the
// fields of the event's type are read. It is the projection's and the
// rebuild's hot path, so it reads the members in one pass rather than
// through reflection, and it does not check that its input is valid JSON,
// which PostgreSQL's JSONB and json_agg always print: json.Valid costs a
// second pass over every record. Input that is not JSON still gives an
// error, as the splitters check their bounds.
func UnmarshalEvent(data []byte) (domain.CallEvent, error) {
	e, err := unmarshalEvent(data)
	if err != nil {
		return domain.CallEvent{}, fmt.Errorf("unmarshal event: %w", err)
	}
	return e, nil
}

func unmarshalEvent(payload []byte) (domain.CallEvent, error) {
	env, ok := validObject(payload, "")
	if !ok {
		return domain.CallEvent{}, errors.New("not a JSON object")
	}
	var e domain.CallEvent
	var typ string
	err := env.strings(stringField{"event_id", &e.EventID}, stringField{"type", &typ},
		stringField{"order_id", &e.OrderID}, stringField{"widget_id", &e.WidgetID})
	if err != nil {
		return domain.CallEvent{}, err
	}
	e.Type = domain.EventType(typ)
	var data jsonObject
	if e.OccurredAt, data, err = timeAndData(env); err != nil {
		return domain.CallEvent{}, err
	}
	if e.Type == domain.CallOrdered {
		e.Order, err = unmarshalOrderData(data)
		return e, err
	}
	if e.Attempt, err = data.int("attempt"); err != nil {
		return domain.CallEvent{}, err
	}
	// The rules index an order's attempts by number: a damaged record's
	// attempt must not reach them. An unknown type is its caller's to name.
	if knownAttemptType(e.Type) && (e.Attempt < 1 || e.Attempt > domain.MaxAttempt) {
		return domain.CallEvent{}, fieldErr("data.attempt", "must be an integer from 1 to %d", domain.MaxAttempt)
	}
	switch e.Type {
	case domain.CallAnswered:
		if _, present := data.raw("talk_seconds"); present {
			talk, err := data.int("talk_seconds")
			if err != nil {
				return domain.CallEvent{}, err
			}
			e.TalkSeconds = &talk
		}
	case domain.CallFailed:
		e.FailReason, err = data.str("reason")
	}
	return e, err
}

func knownAttemptType(t domain.EventType) bool {
	switch t {
	case domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt:
		return true
	}
	return false
}

func unmarshalOrderData(data jsonObject) (*domain.OrderData, error) {
	o := &domain.OrderData{}
	var kind string
	err := data.strings(stringField{"kind", &kind}, stringField{"client_phone", &o.ClientPhone},
		stringField{"manager_phone", &o.ManagerPhone}, stringField{"calltouch_session_id", &o.SessionID},
		stringField{"form_name", &o.FormName})
	if err != nil {
		return nil, err
	}
	o.Kind = domain.OrderKind(kind)
	if o.ScheduledAt, err = data.timestamp("scheduled_at"); err != nil {
		return nil, err
	}
	v, present := data.raw("details")
	if !present {
		return o, nil
	}
	details, ok := validObject(v, "data.details.")
	if !ok {
		return nil, fieldErr("data.details", "must be a JSON object")
	}
	// A null value reads as "", as json.Unmarshal into a map of strings has it.
	if o.Details, _, ok = details.stringMap(); !ok {
		return nil, fieldErr("data.details", "must be an object of strings")
	}
	return o, nil
}

// canonicalJSON is json.Marshal without HTML escaping, so the log shows
// "<" as written and the details limit counts it as one byte. Map keys come
// out sorted, so equal values give equal bytes.
func canonicalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
