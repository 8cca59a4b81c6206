package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"ctjournal/domain"
)

func mustMarshalEvent(t testing.TB, e domain.CallEvent) []byte {
	t.Helper()
	b, err := MarshalEvent(e)
	if err != nil {
		t.Fatalf("MarshalEvent(%+v): %v", e, err)
	}
	return b
}

func TestMarshalEvent_WritesTheCanonicalEnvelope(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"ordered, only what is present",
			`{"event_id":"5B0C8A52-2B1F-4D6E-9A51-7F1F0C3F2A10","type":"call.ordered","order_id":"ord-1","widget_id":"w-42",
			  "occurred_at":"2026-11-24T10:15:00.250+03:00","data":{"client_phone":"8 (916) 123-45-67"}}`,
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-1","widget_id":"w-42",` +
				`"occurred_at":"2026-11-24T07:15:00.25Z","data":{"kind":"callback","client_phone":"79161234567"}}`},
		{"ordered, every field",
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-1","widget_id":"w-42",
			  "occurred_at":"2026-11-24T10:15:00+03:00","data":{"details":{"z":"<b>","a":"1"},"scheduled_at":"2026-11-25T10:00:00+03:00",
			  "form_name":"Форма","calltouch_session_id":"s1","manager_phone":"+380 44 123 4567","client_phone":"+7 916 123-45-67","kind":"callback"}}`,
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-1","widget_id":"w-42",` +
				`"occurred_at":"2026-11-24T07:15:00Z","data":{"kind":"callback","client_phone":"79161234567","manager_phone":"380441234567",` +
				`"calltouch_session_id":"s1","form_name":"Форма","scheduled_at":"2026-11-25T07:00:00Z","details":{"a":"1","z":"<b>"}}}`},
		{"answered with zero talk time",
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.answered","order_id":"ord-1","widget_id":"w-42",
			  "occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":2,"talk_seconds":0,"reason":"ignored"}}`,
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.answered","order_id":"ord-1","widget_id":"w-42",` +
				`"occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":2,"talk_seconds":0}}`},
		{"failed with reason",
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.failed","order_id":"ord-1","widget_id":"w-42",
			  "occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":1,"reason":"busy","talk_seconds":5}}`,
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.failed","order_id":"ord-1","widget_id":"w-42",` +
				`"occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":1,"reason":"busy"}}`},
		{"last attempt",
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.last_attempt","order_id":"ord-1","widget_id":"w-42",
			  "occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":3}}`,
			`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.last_attempt","order_id":"ord-1","widget_id":"w-42",` +
				`"occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":3}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustMarshalEvent(t, mustParseEvent(t, tt.in))
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestMarshalEvent_SameFactSpelledDifferentlyGivesSameBytes(t *testing.T) {
	spellings := []string{
		`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-1","widget_id":"w-42",
		  "occurred_at":"2026-11-24T10:15:00+03:00","data":{"client_phone":"+7 916 123-45-67","details":{"a":"1","b":"2"}}}`,
		// Other phone spelling, UTC time, upper-case id, key order, explicit defaults.
		`{"data":{"details":{"b":"2","a":"1"},"kind":"callback","client_phone":"8 (916) 123-45-67","form_name":null},
		  "occurred_at":"2026-11-24T07:15:00Z","widget_id":"w-42","order_id":"ord-1","type":"call.ordered",
		  "event_id":"5B0C8A52-2B1F-4D6E-9A51-7F1F0C3F2A10"}`,
		// Bare national number, another offset with a zero fraction, escapes, unknown fields.
		`{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.\u006frdered","order_id":"ord-1","widget_id":"w-42",
		  "occurred_at":"2026-11-24T02:15:00.000-05:00","source":"pbx-2","data":{"client_phone":"9161234567","calltouch_session_id":"",
		  "details":{"a":"\u0031","b":"2"}}}`,
	}
	want := mustMarshalEvent(t, mustParseEvent(t, spellings[0]))
	for _, s := range spellings[1:] {
		if got := mustMarshalEvent(t, mustParseEvent(t, s)); !bytes.Equal(got, want) {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}

func TestMarshalEvent_DifferentFactsGiveDifferentBytes(t *testing.T) {
	base := `{"event_id":"5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.answered","order_id":"ord-1","widget_id":"w-42",
		"occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":1%s}}`
	without := mustMarshalEvent(t, mustParseEvent(t, strings.Replace(base, "%s", "", 1)))
	with := mustMarshalEvent(t, mustParseEvent(t, strings.Replace(base, "%s", `,"talk_seconds":0`, 1)))
	if bytes.Equal(without, with) {
		t.Errorf("unknown and zero talk time marshal alike: %s", with)
	}
}

func TestMarshalEvent_RefusesOrderedWithoutOrderData(t *testing.T) {
	if _, err := MarshalEvent(domain.CallEvent{EventID: envelopeEventID, Type: domain.CallOrdered}); err == nil {
		t.Error("want an error")
	}
}

func TestUnmarshalEvent_RoundTripsEveryParsedEvent(t *testing.T) {
	envs := []map[string]any{
		envelopeOf(domain.CallOrdered),
		withMember(withMember(withMember(withMember(withMember(envelopeOf(domain.CallOrdered),
			"data.kind", "tap2call"), "data.manager_phone", "+380 44 123 4567"), // digits the RU default would not read back
			"data.scheduled_at", "2026-11-25T10:00:00.123456789+03:00"),
			"data.details", map[string]string{"Страница": "/цены"}),
			"data.form_name", "Заявка"),
		envelopeOf(domain.CallDialed),
		withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 0),
		withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 3600),
		withMember(envelopeOf(domain.CallFailed), "data.reason", "no_answer"),
		envelopeOf(domain.CallFailed),
		withMember(envelopeOf(domain.CallLastAttempt), "occurred_at", "2000-01-01T00:00:00Z"),
		withMember(envelopeOf(domain.CallLastAttempt), "occurred_at", "2099-12-31T23:59:59.999999999Z"),
	}
	for _, env := range envs {
		parsed := mustParseEvent(t, string(encodeEnvelope(t, env)))
		stored := mustMarshalEvent(t, parsed)
		back, err := UnmarshalEvent(stored)
		if err != nil {
			t.Fatalf("UnmarshalEvent(%s): %v", stored, err)
		}
		if !reflect.DeepEqual(back, parsed) {
			t.Errorf("round trip of %s\ngot  %+v %+v\nwant %+v %+v", stored, back, back.Order, parsed, parsed.Order)
		}
	}
}

func TestMarshalEvent_WritesTimesInUTC(t *testing.T) {
	moscow := time.FixedZone("MSK", 3*3600)
	e := domain.CallEvent{EventID: envelopeEventID, Type: domain.CallDialed, OrderID: "o", WidgetID: "w",
		OccurredAt: time.Date(2026, 11, 24, 10, 15, 0, 0, moscow), Attempt: 1}
	if got := string(mustMarshalEvent(t, e)); !strings.Contains(got, `"occurred_at":"2026-11-24T07:15:00Z"`) {
		t.Errorf("got %s", got)
	}
}

func TestUnmarshalEvent_RefusesWhatIsNotAnEnvelope(t *testing.T) {
	for _, s := range []string{``, `[]`, `{"occurred_at":"yesterday"}`, `{"data":{"attempt":"1"}}`,
		`{"type":"call.dialed","occurred_at":"2026-11-24T07:15:00Z","data":{"attempt":101}}`,
		`{"type":"call.failed","occurred_at":"2026-11-24T07:15:00Z","data":{}}`,
		// Not JSON, cut short or broken: the one-pass reader stops at the end.
		`{`, `{"event_id":"e-1`, `{"type":"call.ordered","data":{"kind":`, `{"data":{"details":{"a":"b"`,
		`{"event_id":}`, `{"event_id"`, `{"event_id" "x"}`, `{"a":1 "b":2}`, `{event_id:1}`, `{"a":"\`, `{"a":"x\"}`,
		`{"data":{"details":{"a":1}}}`, `{"data":{"details":{"a":"\u12"}}}`, `{"type":"call.failed","data":{"reason":"\q"}}`} {
		if _, err := UnmarshalEvent([]byte(s)); err == nil {
			t.Errorf("UnmarshalEvent(%q): want an error", s)
		}
	}
}
