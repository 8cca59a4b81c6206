package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"ctjournal/domain"
)

const envelopeEventID = "5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10"

// absentMember, as a value for withMember, removes the member.
var absentMember = new(struct{})

// envelopeOf is a valid envelope of the given type, as a map tests can edit.
func envelopeOf(typ domain.EventType) map[string]any {
	data := map[string]any{"attempt": 1}
	if typ == domain.CallOrdered {
		data = map[string]any{"client_phone": "+7 916 123-45-67"}
	}
	return map[string]any{
		"event_id":    envelopeEventID,
		"type":        string(typ),
		"order_id":    "ord-1",
		"widget_id":   "w-42",
		"occurred_at": "2026-11-24T10:15:00+03:00",
		"data":        data,
	}
}

// withMember sets the member at path ("data.attempt") to v; a json.RawMessage
// is written as it is, absentMember removes the member.
func withMember(env map[string]any, path string, v any) map[string]any {
	m := env
	if rest, ok := strings.CutPrefix(path, "data."); ok {
		m, path = env["data"].(map[string]any), rest
	}
	if v == absentMember {
		delete(m, path)
	} else {
		m[path] = v
	}
	return env
}

func encodeEnvelope(t testing.TB, env map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParseEvent(t testing.TB, raw string) domain.CallEvent {
	t.Helper()
	e, err := ParseEvent(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", raw, err)
	}
	return e
}

func TestParseEvent_ReadsEachType(t *testing.T) {
	occurred := time.Date(2026, 11, 24, 7, 15, 0, 0, time.UTC)
	scheduledAt := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	talk := 42
	zero := 0
	base := domain.CallEvent{EventID: envelopeEventID, OrderID: "ord-1", WidgetID: "w-42", OccurredAt: occurred}
	event := func(typ domain.EventType, edit func(*domain.CallEvent)) domain.CallEvent {
		e := base
		e.Type = typ
		edit(&e)
		return e
	}
	tests := []struct {
		name string
		env  map[string]any
		want domain.CallEvent
	}{
		{"callback by default", envelopeOf(domain.CallOrdered), event(domain.CallOrdered, func(e *domain.CallEvent) {
			e.Order = &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567"}
		})},
		{"every ordered field", withMember(withMember(withMember(withMember(withMember(withMember(envelopeOf(domain.CallOrdered),
			"data.kind", "callback"),
			"data.manager_phone", "8 (495) 123-45-67"),
			"data.calltouch_session_id", "123456789"),
			"data.form_name", "Перезвоните мне"),
			"data.scheduled_at", "2026-11-25T10:00:00+03:00"),
			"data.details", map[string]string{"page": "/pricing", "utm": "cpc"}),
			event(domain.CallOrdered, func(e *domain.CallEvent) {
				e.Order = &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567", ManagerPhone: "74951234567",
					SessionID: "123456789", FormName: "Перезвоните мне", ScheduledAt: &scheduledAt,
					Details: map[string]string{"page": "/pricing", "utm": "cpc"}}
			})},
		{"tap2call needs only the manager phone", withMember(withMember(withMember(envelopeOf(domain.CallOrdered),
			"data.kind", "tap2call"), "data.client_phone", absentMember), "data.manager_phone", "+380 44 123 4567"),
			event(domain.CallOrdered, func(e *domain.CallEvent) {
				e.Order = &domain.OrderData{Kind: domain.KindTap2Call, ManagerPhone: "380441234567"}
			})},
		{"dialed", envelopeOf(domain.CallDialed), event(domain.CallDialed, func(e *domain.CallEvent) { e.Attempt = 1 })},
		{"answered without talk time", envelopeOf(domain.CallAnswered), event(domain.CallAnswered, func(e *domain.CallEvent) { e.Attempt = 1 })},
		{"answered with talk time", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 42),
			event(domain.CallAnswered, func(e *domain.CallEvent) { e.Attempt, e.TalkSeconds = 1, &talk })},
		{"answered with zero talk time", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 0),
			event(domain.CallAnswered, func(e *domain.CallEvent) { e.Attempt, e.TalkSeconds = 1, &zero })},
		{"failed with reason", withMember(withMember(envelopeOf(domain.CallFailed), "data.reason", "busy"), "data.attempt", 100),
			event(domain.CallFailed, func(e *domain.CallEvent) { e.Attempt, e.FailReason = 100, "busy" })},
		{"last attempt", withMember(envelopeOf(domain.CallLastAttempt), "data.attempt", 3),
			event(domain.CallLastAttempt, func(e *domain.CallEvent) { e.Attempt = 3 })},
		{"upper-case event id stored lower-case", withMember(envelopeOf(domain.CallDialed), "event_id", strings.ToUpper(envelopeEventID)),
			event(domain.CallDialed, func(e *domain.CallEvent) { e.Attempt = 1 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvent(encodeEnvelope(t, tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.Order, tt.want, tt.want.Order)
			}
		})
	}
}

func TestParseEvent_RefusesInvalidFieldsNamingThem(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	const (
		msgString   = "must be a string"
		msgUUID     = "must be a UUID such as 5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10"
		msgRef      = "must be 1–128 characters of A–Z a–z 0–9 . _ : -"
		msgTime     = "must be an RFC 3339 time such as 2026-11-24T10:15:00+03:00"
		msgPhone    = "is not a valid phone number"
		msgAttempt  = "must be an integer from 1 to 100"
		msgDetails  = "must be an object of string to string"
		msgTalk     = "must be an integer from 0 to 86400"
		msgRange    = "must be from 2000-01-01T00:00:00Z up to (not including) 2100-01-01T00:00:00Z"
		msgNUL      = "must not contain U+0000"
		msgNULName  = "must not have a member name holding U+0000"
		msgRequired = "required"
	)
	tests := []struct {
		name    string
		env     map[string]any
		field   string
		message string
	}{
		{"event_id missing", withMember(envelopeOf(domain.CallDialed), "event_id", absentMember), "event_id", msgRequired},
		{"event_id null", withMember(envelopeOf(domain.CallDialed), "event_id", nil), "event_id", msgRequired},
		{"event_id a number", withMember(envelopeOf(domain.CallDialed), "event_id", 7), "event_id", msgString},
		{"event_id not a UUID", withMember(envelopeOf(domain.CallDialed), "event_id", "evt-1"), "event_id", msgUUID},
		{"event_id without hyphens", withMember(envelopeOf(domain.CallDialed), "event_id", strings.ReplaceAll(envelopeEventID, "-", "")), "event_id", msgUUID},
		{"event_id in braces", withMember(envelopeOf(domain.CallDialed), "event_id", "{"+envelopeEventID+"}"), "event_id", msgUUID},
		{"event_id as URN", withMember(envelopeOf(domain.CallDialed), "event_id", "urn:uuid:"+envelopeEventID), "event_id", msgUUID},
		{"event_id with a non-hex digit", withMember(envelopeOf(domain.CallDialed), "event_id", "5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a1g"), "event_id", msgUUID},
		{"type missing", withMember(envelopeOf(domain.CallDialed), "type", absentMember), "type", msgRequired},
		{"type unknown", withMember(envelopeOf(domain.CallDialed), "type", "call.hungup"), "type",
			"must be one of call.ordered, call.dialed, call.answered, call.failed, call.last_attempt"},
		{"type in upper case", withMember(envelopeOf(domain.CallDialed), "type", "CALL.DIALED"), "type",
			"must be one of call.ordered, call.dialed, call.answered, call.failed, call.last_attempt"},
		{"order_id missing", withMember(envelopeOf(domain.CallDialed), "order_id", absentMember), "order_id", msgRequired},
		{"order_id empty", withMember(envelopeOf(domain.CallDialed), "order_id", ""), "order_id", msgRequired},
		{"order_id with ~", withMember(envelopeOf(domain.CallDialed), "order_id", "ord~1"), "order_id", msgRef},
		{"order_id with a space", withMember(envelopeOf(domain.CallDialed), "order_id", "ord 1"), "order_id", msgRef},
		{"order_id non-ASCII", withMember(envelopeOf(domain.CallDialed), "order_id", "заказ-1"), "order_id", msgRef},
		{"order_id 129 characters", withMember(envelopeOf(domain.CallDialed), "order_id", strings.Repeat("a", 129)), "order_id", msgRef},
		{"order_id a number", withMember(envelopeOf(domain.CallDialed), "order_id", 123), "order_id", msgString},
		{"widget_id missing", withMember(envelopeOf(domain.CallDialed), "widget_id", absentMember), "widget_id", msgRequired},
		{"widget_id with a slash", withMember(envelopeOf(domain.CallDialed), "widget_id", "w/42"), "widget_id", msgRef},
		{"occurred_at missing", withMember(envelopeOf(domain.CallDialed), "occurred_at", absentMember), "occurred_at", msgRequired},
		{"occurred_at without offset", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2026-11-24T10:15:00"), "occurred_at", msgTime},
		{"occurred_at a date", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2026-11-24"), "occurred_at", msgTime},
		{"occurred_at unix seconds", withMember(envelopeOf(domain.CallDialed), "occurred_at", 1795000000), "occurred_at", msgString},
		{"occurred_at before year 0 in UTC", withMember(envelopeOf(domain.CallDialed), "occurred_at", "0000-01-01T00:00:00+01:00"), "occurred_at", msgTime},
		{"occurred_at after year 9999 in UTC", withMember(envelopeOf(domain.CallDialed), "occurred_at", "9999-12-31T23:00:00-02:00"), "occurred_at", msgTime},
		{"occurred_at in year 0", withMember(envelopeOf(domain.CallDialed), "occurred_at", "0000-01-01T00:00:00Z"), "occurred_at", msgRange},
		{"occurred_at in year 1 that is year 0 in UTC", withMember(envelopeOf(domain.CallOrdered), "occurred_at", "0001-01-01T00:00:00+01:00"), "occurred_at", msgRange},
		{"occurred_at just before 2000", withMember(envelopeOf(domain.CallDialed), "occurred_at", "1999-12-31T23:59:59.999999999Z"), "occurred_at", msgRange},
		{"occurred_at of 2000 in Moscow, 1999 in UTC", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2000-01-01T02:59:59+03:00"), "occurred_at", msgRange},
		{"occurred_at in 2100", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2100-01-01T00:00:00Z"), "occurred_at", msgRange},
		{"occurred_at of 2099 in UTC-1, 2100 in UTC", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2099-12-31T23:30:00-01:00"), "occurred_at", msgRange},
		{"occurred_at in 9999", withMember(envelopeOf(domain.CallAnswered), "occurred_at", "9999-12-31T23:59:59Z"), "occurred_at", msgRange},
		{"data an array", withMember(envelopeOf(domain.CallDialed), "data", []int{1}), "data", "must be a JSON object"},
		{"data a string", withMember(envelopeOf(domain.CallOrdered), "data", "{}"), "data", "must be a JSON object"},
		{"ordered without data", withMember(envelopeOf(domain.CallOrdered), "data", absentMember), "data.client_phone", msgRequired},
		{"kind unknown", withMember(envelopeOf(domain.CallOrdered), "data.kind", "sms"), "data.kind", "must be callback or tap2call"},
		{"kind a number", withMember(envelopeOf(domain.CallOrdered), "data.kind", 1), "data.kind", msgString},
		{"callback without client phone", withMember(envelopeOf(domain.CallOrdered), "data.client_phone", absentMember), "data.client_phone", msgRequired},
		{"callback with empty client phone", withMember(envelopeOf(domain.CallOrdered), "data.client_phone", ""), "data.client_phone", msgRequired},
		{"client phone invalid", withMember(envelopeOf(domain.CallOrdered), "data.client_phone", "12345"), "data.client_phone", msgPhone},
		{"client phone a number", withMember(envelopeOf(domain.CallOrdered), "data.client_phone", 79161234567), "data.client_phone", msgString},
		{"tap2call without manager phone", withMember(envelopeOf(domain.CallOrdered), "data.kind", "tap2call"), "data.manager_phone", msgRequired},
		{"manager phone invalid on a callback", withMember(envelopeOf(domain.CallOrdered), "data.manager_phone", "+7 000"), "data.manager_phone", msgPhone},
		{"session id a number", withMember(envelopeOf(domain.CallOrdered), "data.calltouch_session_id", 123), "data.calltouch_session_id", msgString},
		{"form name an object", withMember(envelopeOf(domain.CallOrdered), "data.form_name", map[string]any{}), "data.form_name", msgString},
		{"scheduled_at not a time", withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "tomorrow"), "data.scheduled_at", msgTime},
		{"scheduled_at in year 0", withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "0000-01-01T00:00:00Z"), "data.scheduled_at", msgRange},
		{"scheduled_at in year 1 that is year 0 in UTC", withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "0001-01-01T00:00:00+01:00"), "data.scheduled_at", msgRange},
		{"scheduled_at in 2100", withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "2100-01-01T00:00:00Z"), "data.scheduled_at", msgRange},
		{"details an array", withMember(envelopeOf(domain.CallOrdered), "data.details", []string{"a"}), "data.details", msgDetails},
		{"details with a number", withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]any{"n": 1}), "data.details", msgDetails},
		{"details with a null", withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]any{"n": nil}), "data.details", msgDetails + ` ("n" is null)`},
		{"details over 16 KiB", withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]string{"k": strings.Repeat("v", 16377)}),
			"data.details", "must be at most 16 KiB as JSON"},
		{"attempt missing", withMember(envelopeOf(domain.CallDialed), "data.attempt", absentMember), "data.attempt", msgRequired},
		{"attempt null", withMember(envelopeOf(domain.CallFailed), "data.attempt", nil), "data.attempt", msgRequired},
		{"no data for an attempt event", withMember(envelopeOf(domain.CallLastAttempt), "data", absentMember), "data.attempt", msgRequired},
		{"attempt 0", withMember(envelopeOf(domain.CallDialed), "data.attempt", 0), "data.attempt", msgAttempt},
		{"attempt 101", withMember(envelopeOf(domain.CallAnswered), "data.attempt", 101), "data.attempt", msgAttempt},
		{"attempt negative", withMember(envelopeOf(domain.CallDialed), "data.attempt", -1), "data.attempt", msgAttempt},
		{"attempt 1.5", withMember(envelopeOf(domain.CallDialed), "data.attempt", raw("1.5")), "data.attempt", msgAttempt},
		{"attempt 1.0", withMember(envelopeOf(domain.CallDialed), "data.attempt", raw("1.0")), "data.attempt", msgAttempt},
		{"attempt 1e0", withMember(envelopeOf(domain.CallDialed), "data.attempt", raw("1e0")), "data.attempt", msgAttempt},
		{"attempt a string", withMember(envelopeOf(domain.CallDialed), "data.attempt", "1"), "data.attempt", msgAttempt},
		{"attempt true", withMember(envelopeOf(domain.CallDialed), "data.attempt", true), "data.attempt", msgAttempt},
		{"attempt beyond int64", withMember(envelopeOf(domain.CallDialed), "data.attempt", raw("99999999999999999999")), "data.attempt", msgAttempt},
		{"talk_seconds negative", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", -1), "data.talk_seconds", msgTalk},
		{"talk_seconds fractional", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", raw("12.5")), "data.talk_seconds", msgTalk},
		{"talk_seconds a string", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", "12"), "data.talk_seconds", msgTalk},
		{"talk_seconds over a day", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 86401), "data.talk_seconds", msgTalk},
		{"talk_seconds beyond int64", withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", raw("99999999999999999999")), "data.talk_seconds", msgTalk},
		{"reason a number", withMember(envelopeOf(domain.CallFailed), "data.reason", 486), "data.reason", msgString},
		{"U+0000 in event_id", withMember(envelopeOf(domain.CallDialed), "event_id", envelopeEventID+"\x00"), "event_id", msgNUL},
		{"U+0000 in type", withMember(envelopeOf(domain.CallDialed), "type", "call.dialed\x00"), "type", msgNUL},
		{"U+0000 in order_id", withMember(envelopeOf(domain.CallDialed), "order_id", "ord\x001"), "order_id", msgNUL},
		{"U+0000 in widget_id", withMember(envelopeOf(domain.CallDialed), "widget_id", "\x00"), "widget_id", msgNUL},
		{"U+0000 in occurred_at", withMember(envelopeOf(domain.CallDialed), "occurred_at", "2026-11-24T10:15:00+03:00\x00"), "occurred_at", msgNUL},
		{"U+0000 in kind", withMember(envelopeOf(domain.CallOrdered), "data.kind", "callback\x00"), "data.kind", msgNUL},
		{"U+0000 in client_phone", withMember(envelopeOf(domain.CallOrdered), "data.client_phone", "+7 916 123-45-67\x00"), "data.client_phone", msgNUL},
		{"U+0000 in manager_phone", withMember(envelopeOf(domain.CallOrdered), "data.manager_phone", "\x00"), "data.manager_phone", msgNUL},
		{"U+0000 in calltouch_session_id", withMember(envelopeOf(domain.CallOrdered), "data.calltouch_session_id", "s\x00"), "data.calltouch_session_id", msgNUL},
		{"U+0000 in form_name", withMember(envelopeOf(domain.CallOrdered), "data.form_name", "Заявка\x00"), "data.form_name", msgNUL},
		{"U+0000 in scheduled_at", withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "\x002026-11-25T10:00:00+03:00"), "data.scheduled_at", msgNUL},
		{"U+0000 in a details value", withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]string{"a": "b", "page": "/\x00"}), "data.details.page", msgNUL},
		{"U+0000 in a details name", withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]string{"pa\x00ge": "/"}), "data.details", msgNULName},
		{"U+0000 in reason", withMember(envelopeOf(domain.CallFailed), "data.reason", "busy\x00"), "data.reason", msgNUL},
		{"U+0000 in an unknown member", withMember(envelopeOf(domain.CallDialed), "data.note", "\x00"), "data.note", msgNUL},
		{"U+0000 deep in an unknown member", withMember(envelopeOf(domain.CallDialed), "extra", map[string]any{"tags": []any{1, "a", map[string]string{"x": "\x00"}}}),
			"extra.tags[2].x", msgNUL},
		{"U+0000 in an unknown member's name", withMember(envelopeOf(domain.CallDialed), "data.n\x00te", "x"), "data", msgNULName},
		{"U+0000 in an envelope member's name", withMember(envelopeOf(domain.CallDialed), "\x00", "x"), "", msgNULName},
		{"first bad field wins", withMember(withMember(envelopeOf(domain.CallDialed), "type", "x"), "order_id", ""), "type",
			"must be one of call.ordered, call.dialed, call.answered, call.failed, call.last_attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent(encodeEnvelope(t, tt.env))
			var fe *domain.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *domain.FieldError, got %v", err)
			}
			if fe.Field != tt.field || fe.Message != tt.message {
				t.Errorf("got %q %q, want %q %q", fe.Field, fe.Message, tt.field, tt.message)
			}
		})
	}
}

func TestParseEvent_RefusesWhatIsNotAnObject(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `"event"`, `42`, `{"event_id":`, `[{}]`} {
		_, err := ParseEvent(json.RawMessage(raw))
		var fe *domain.FieldError
		if !errors.As(err, &fe) || fe.Field != "" || fe.Message != "event must be a JSON object" {
			t.Errorf("ParseEvent(%q) = %v, want the event must be a JSON object", raw, err)
		}
	}
}

func TestParseEvent_AcceptsDetailsOfExactly16KiB(t *testing.T) {
	// {"k":"…"} is 8 bytes around the value.
	env := withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]string{"k": strings.Repeat("v", 16384-8)})
	if _, err := ParseEvent(encodeEnvelope(t, env)); err != nil {
		t.Fatal(err)
	}
}

func TestParseEvent_IgnoresUnknownFieldsAndOtherTypesData(t *testing.T) {
	env := withMember(withMember(withMember(envelopeOf(domain.CallDialed),
		"schema", 2), "data.talk_seconds", "not checked for dialed"), "data.kind", 7)
	got, err := ParseEvent(encodeEnvelope(t, env))
	if err != nil {
		t.Fatal(err)
	}
	if got.TalkSeconds != nil || got.Order != nil || got.Attempt != 1 {
		t.Errorf("got %+v", got)
	}
}

func TestParseEvent_NullAndEmptyOptionalFieldsAreAbsent(t *testing.T) {
	want := mustParseEvent(t, string(encodeEnvelope(t, envelopeOf(domain.CallOrdered))))
	for _, v := range []any{nil, ""} {
		env := envelopeOf(domain.CallOrdered)
		for _, key := range []string{"data.kind", "data.manager_phone", "data.calltouch_session_id", "data.form_name", "data.scheduled_at", "data.details"} {
			withMember(env, key, v)
		}
		if v == "" {
			withMember(env, "data.details", map[string]string{})
		}
		got, err := ParseEvent(encodeEnvelope(t, env))
		if err != nil {
			t.Fatalf("with %q: %v", v, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("with %q: got %+v, want %+v", v, got.Order, want.Order)
		}
	}
}

func TestParseEvent_AcceptsTimesAtTheEdgesOfTheRange(t *testing.T) {
	for _, at := range []string{
		"2000-01-01T00:00:00Z", "2000-01-01T03:00:00+03:00", "1999-12-31T23:00:00-01:00",
		"2099-12-31T23:59:59.999999999Z", "2100-01-01T02:59:59+03:00",
	} {
		env := withMember(withMember(envelopeOf(domain.CallOrdered), "occurred_at", at), "data.scheduled_at", at)
		e, err := ParseEvent(encodeEnvelope(t, env))
		if err != nil {
			t.Errorf("%s: %v", at, err)
			continue
		}
		if e.OccurredAt.Location() != time.UTC || !e.OccurredAt.Equal(*e.Order.ScheduledAt) {
			t.Errorf("%s: read as %v and %v", at, e.OccurredAt, e.Order.ScheduledAt)
		}
	}
}

// Only a real escape is U+0000: "\\u0000" is a backslash and "u0000".
func TestParseEvent_AnEscapedBackslashBeforeU0000IsNoNUL(t *testing.T) {
	env := withMember(withMember(envelopeOf(domain.CallOrdered), "data.form_name", `\u0000`), "data.details", map[string]string{`\u0000`: `\\u0000`})
	raw := encodeEnvelope(t, env)
	if !bytes.Contains(raw, []byte(`\\u0000`)) {
		t.Fatalf("the test envelope holds no escaped backslash before u0000: %s", raw)
	}
	e, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.Order.FormName != `\u0000` || e.Order.Details[`\u0000`] != `\\u0000` {
		t.Errorf("got form name %q, details %q", e.Order.FormName, e.Order.Details)
	}
}
