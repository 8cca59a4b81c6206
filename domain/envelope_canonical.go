package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// wireEvent is the canonical envelope; its field order is the output order.
type wireEvent struct {
	EventID    string    `json:"event_id"`
	Type       EventType `json:"type"`
	OrderID    string    `json:"order_id"`
	WidgetID   string    `json:"widget_id"`
	OccurredAt time.Time `json:"occurred_at"` // RFC 3339 with nanoseconds, UTC
	Data       wireData  `json:"data"`
}

// wireData holds every type's data fields; each type fills only its own.
type wireData struct {
	Kind         OrderKind         `json:"kind,omitempty"`
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
func MarshalEvent(e CallEvent) ([]byte, error) {
	w := wireEvent{
		EventID:    e.EventID,
		Type:       e.Type,
		OrderID:    e.OrderID,
		WidgetID:   e.WidgetID,
		OccurredAt: e.OccurredAt.UTC(),
	}
	switch e.Type {
	case CallOrdered:
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
	case CallAnswered:
		w.Data = wireData{Attempt: e.Attempt, TalkSeconds: e.TalkSeconds}
	case CallFailed:
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

// UnmarshalEvent reads back what MarshalEvent wrote. It trusts its input, as
// the log holds only parsed events: phones are stored digits and are not
// parsed again (a foreign number's digits would not parse under the RU
// default).
func UnmarshalEvent(data []byte) (CallEvent, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return CallEvent{}, fmt.Errorf("unmarshal event: %w", err)
	}
	e := CallEvent{
		EventID:    w.EventID,
		Type:       w.Type,
		OrderID:    w.OrderID,
		WidgetID:   w.WidgetID,
		OccurredAt: w.OccurredAt,
	}
	d := w.Data
	switch w.Type {
	case CallOrdered:
		e.Order = &OrderData{
			Kind:         d.Kind,
			ClientPhone:  d.ClientPhone,
			ManagerPhone: d.ManagerPhone,
			SessionID:    d.SessionID,
			FormName:     d.FormName,
			ScheduledAt:  d.ScheduledAt,
			Details:      d.Details,
		}
	case CallAnswered:
		e.Attempt, e.TalkSeconds = d.Attempt, d.TalkSeconds
	case CallFailed:
		e.Attempt, e.FailReason = d.Attempt, d.Reason
	default:
		e.Attempt = d.Attempt
	}
	return e, nil
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
