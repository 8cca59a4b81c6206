package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ctjournal/domain"
)

// OrderExplanation is an order's story: every fact in log order and every
// decision with its reason, payload and tries (contract.md, GET /v1/orders).
type OrderExplanation struct {
	OrderID       string              `json:"order_id"`
	WidgetID      string              `json:"widget_id"`
	PolicyVersion *int                `json:"policy_version"`
	Events        []ExplainedEvent    `json:"events"`
	Decisions     []ExplainedDecision `json:"decisions"`
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
	Tries         []ExplainedTry  `json:"tries,omitempty"`
	// History lists what happened to the lead besides tries: given up,
	// redelivery requested.
	History []ExplainedLeadEvent `json:"history,omitempty"`
}

// ExplainedLeadEvent is a give-up or a redelivery request.
type ExplainedLeadEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"` // given_up, redelivery_requested
	Reason string    `json:"reason,omitempty"`
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
	queries  Queries
	policies PolicyStore
}

// NewExplainOrder reads tokens from policies, to mask them in tries
// recorded before tries were masked when recorded.
func NewExplainOrder(q Queries, policies PolicyStore) ExplainOrder {
	return ExplainOrder{queries: q, policies: policies}
}

// Handle returns the order's explanation, or ErrNotFound.
func (h ExplainOrder) Handle(ctx context.Context, orderID string) (OrderExplanation, error) {
	x, err := h.queries.Explain(ctx, orderID)
	if err != nil {
		return x, err
	}
	return x, h.maskTokens(ctx, &x)
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
