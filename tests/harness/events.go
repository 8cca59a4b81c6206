package harness

import (
	"maps"
	"time"
)

// Event is one envelope of POST /v1/events.
type Event map[string]any

// TestPhone is the client phone of ordered events, as a person types it;
// WantPhone is how Calltouch must get it.
const (
	TestPhone = "+7 (916) 123-45-67"
	WantPhone = "79161234567"
)

func newEvent(typ, order, widget string, data map[string]any) Event {
	return Event{
		"event_id":    NewUUID(),
		"type":        typ,
		"order_id":    order,
		"widget_id":   widget,
		"occurred_at": time.Now().UTC().Format(time.RFC3339),
		"data":        data,
	}
}

// Ordered is a callback order with a client phone and a Calltouch session
// id; data overrides those (a nil value removes the field).
func Ordered(order, widget string, data map[string]any) Event {
	return newEvent("call.ordered", order, widget, Merge(map[string]any{
		"client_phone":         TestPhone,
		"calltouch_session_id": "sess-" + order,
	}, data))
}

func Dialed(order, widget string, n int) Event {
	return newEvent("call.dialed", order, widget, map[string]any{"attempt": n})
}

func Answered(order, widget string, n int) Event {
	return newEvent("call.answered", order, widget, map[string]any{"attempt": n})
}

func Failed(order, widget string, n int, reason string) Event {
	data := map[string]any{"attempt": n}
	if reason != "" {
		data["reason"] = reason
	}
	return newEvent("call.failed", order, widget, data)
}

func LastAttempt(order, widget string, n int) Event {
	return newEvent("call.last_attempt", order, widget, map[string]any{"attempt": n})
}

// With returns a copy of the envelope with one top-level field set.
func (ev Event) With(field string, v any) Event {
	out := maps.Clone(ev)
	out[field] = v
	return out
}

// WithData returns a copy with one data field set (nil: removed).
func (ev Event) WithData(field string, v any) Event {
	out := maps.Clone(ev)
	out["data"] = Merge(ev["data"].(map[string]any), map[string]any{field: v})
	if v == nil {
		delete(out["data"].(map[string]any), field)
	}
	return out
}
