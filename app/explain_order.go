package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"ctjournal/domain"
	"ctjournal/wire"
)

// OrderExplanation is an order's story: every fact in log order and every
// decision with its reason, payload and tries (docs/api.md, GET /v1/orders).
type OrderExplanation struct {
	OrderID       string              `json:"order_id"`
	WidgetID      string              `json:"widget_id"`
	PolicyVersion *int                `json:"policy_version"`
	Events        []ExplainedEvent    `json:"events"`
	Decisions     []ExplainedDecision `json:"decisions"`
	// Quarantined lists the order's log records that the projection set
	// aside and that cannot be read as call events; a call event set
	// aside is among Events, with a note.
	Quarantined []QuarantinedEntry `json:"quarantined,omitempty"`
}

// QuarantinedEntry is a log record of the order that the projection set
// aside and that cannot be read as a call event.
type QuarantinedEntry struct {
	Position      int64     `json:"position"`
	Type          string    `json:"type,omitempty"` // when it can be read
	Error         string    `json:"error"`
	RecordedAt    time.Time `json:"recorded_at"`
	QuarantinedAt time.Time `json:"quarantined_at"`
}

// ExplainedEvent is one fact of the order as the log recorded it.
type ExplainedEvent struct {
	Position   int64           `json:"position"`
	EventID    string          `json:"event_id"`
	Type       string          `json:"type"`
	Attempt    *int            `json:"attempt"`
	OccurredAt time.Time       `json:"occurred_at"`
	RecordedAt time.Time       `json:"recorded_at"`
	Note       *string         `json:"note"`
	Data       json.RawMessage `json:"data,omitempty"`
	// Quarantined marks an event the projection set aside: it took no
	// part in the decisions.
	Quarantined bool `json:"quarantined,omitempty"`
}

// ExplainedDecision is one decision with, for a send, its payload and tries.
type ExplainedDecision struct {
	Attempt       *int            `json:"attempt"`
	Decision      string          `json:"decision"`
	Key           *string         `json:"key,omitempty"`
	Reason        string          `json:"reason"`
	Warnings      []string        `json:"warnings"`
	PolicyVersion *int            `json:"policy_version"`
	DecidedAt     time.Time       `json:"decided_at"`
	Status        string          `json:"status"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Tries         []ExplainedTry  `json:"tries,omitzero"` // present for send decisions
	// History lists what happened to the lead besides tries: given up,
	// redelivery requested.
	History []ExplainedLeadEvent `json:"history,omitempty"`
}

// ExplainedLeadEvent is a give-up or a redelivery request.
type ExplainedLeadEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"` // LeadGivenUpEvent, LeadRedeliveryRequestedEvent
	Reason string    `json:"reason,omitempty"`
}

// Events of a lead's delivery history that are not requests to Calltouch;
// the stores keep them beside the tries, as their outcome.
const (
	LeadGivenUpEvent             = "given_up"
	LeadRedeliveryRequestedEvent = "redelivery_requested"
)

// IsLeadEvent tells a give-up or a redelivery request from a try, by the
// outcome a store keeps in a lead's delivery history.
func IsLeadEvent(outcome string) bool {
	return outcome == LeadGivenUpEvent || outcome == LeadRedeliveryRequestedEvent
}

// ExplainedTry is one delivery try as the log recorded it.
type ExplainedTry struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	HTTPStatus *int      `json:"http_status"`
	Response   string    `json:"response"`
	Error      *string   `json:"error"`
	Outcome    string    `json:"outcome"`
}

// ExplainOrder answers "why was this lead sent, or not?" for one order.
type ExplainOrder struct {
	queries    Queries
	quarantine Quarantine
	policies   PolicyStore
}

// NewExplainOrder reads the records set aside from quarantine, and tokens
// from policies, to mask them in tries recorded before tries were masked
// when recorded.
func NewExplainOrder(q Queries, quarantine Quarantine, policies PolicyStore) ExplainOrder {
	return ExplainOrder{queries: q, quarantine: quarantine, policies: policies}
}

// Handle returns the order's explanation, with the records naming it that
// the projection set aside, or ErrNotFound when there is neither.
func (h ExplainOrder) Handle(ctx context.Context, orderID string) (OrderExplanation, error) {
	x, err := h.queries.Explain(ctx, orderID)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return x, err
	}
	aside, err := h.quarantine.Quarantined(ctx, orderID)
	if err != nil {
		return x, err
	}
	if !known {
		if len(aside) == 0 {
			return x, ErrNotFound
		}
		x = OrderExplanation{OrderID: orderID, Events: []ExplainedEvent{}, Decisions: []ExplainedDecision{}}
	}
	for _, r := range aside {
		x.setAside(r)
	}
	if x.WidgetID == "" {
		return x, nil
	}
	return x, h.maskTokens(ctx, &x)
}

// setAside shows a record the projection set aside: a call event among
// the events, before the first of a later position, with a note; anything else as an entry
// of its own.
func (x *OrderExplanation) setAside(r QuarantinedRecord) {
	e, err := wire.UnmarshalEvent(r.Payload)
	if err != nil || e.OrderID != x.OrderID || !encodable(e.OccurredAt) {
		x.Quarantined = append(x.Quarantined, QuarantinedEntry{Position: r.Position, Type: recordType(r.Payload),
			Error: r.Error, RecordedAt: r.RecordedAt, QuarantinedAt: r.At})
		return
	}
	if x.WidgetID == "" {
		x.WidgetID = e.WidgetID
	}
	note := "set aside by the projection, not applied: " + r.Error
	ev := ExplainedEvent{Position: r.Position, EventID: e.EventID, Type: string(e.Type), OccurredAt: e.OccurredAt,
		RecordedAt: r.RecordedAt, Note: &note, Quarantined: true}
	if e.Attempt > 0 {
		ev.Attempt = &e.Attempt
	}
	i := slices.IndexFunc(x.Events, func(e ExplainedEvent) bool { return e.Position > r.Position })
	if i < 0 {
		i = len(x.Events)
	}
	x.Events = slices.Insert(x.Events, i, ev)
}

// encodable tells whether JSON can carry t (years 0–9999).
func encodable(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// recordType is the type a log record names, when it can be read.
func recordType(payload []byte) string {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(payload, &head) != nil {
		return ""
	}
	return head.Type

}

// maskTokens masks the widget's Calltouch token in every try's response and
// error. Tries are masked before they are recorded; this covers those a log
// kept from before. The store keeps only the widget's current token (the
// log holds none), so a token replaced since such a try stays unmasked in
// it.
func (h ExplainOrder) maskTokens(ctx context.Context, x *OrderExplanation) error {
	p, err := h.policies.Policy(ctx, x.WidgetID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("token of widget %s, to mask it: %w", x.WidgetID, err)
	}
	token := p.Policy.Token
	for i := range x.Decisions {
		d := &x.Decisions[i]
		for j := range d.Tries {
			t := &d.Tries[j]
			t.Response = domain.MaskTokenIn(t.Response, token)
			if t.Error != nil {
				masked := domain.MaskTokenIn(*t.Error, token)
				t.Error = &masked
			}
		}
		for j := range d.History {
			d.History[j].Reason = domain.MaskTokenIn(d.History[j].Reason, token)
		}
	}
	return nil
}
