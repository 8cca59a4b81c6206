package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"ctjournal/domain"
)

// HistoryFilter picks a widget's orders by when they were ordered: the
// occurred_at of their call.ordered, in [Since, Until). Without bounds every
// order of the widget counts, those never placed too.
type HistoryFilter struct {
	WidgetID string
	Since    *time.Time
	Until    *time.Time
}

// HistoryOrder is one order as the read models keep it: its events in log
// order and the decisions the live projection recorded.
type HistoryOrder struct {
	OrderID   string
	WidgetID  string
	Events    []domain.LoggedEvent
	Decisions []domain.Decision
	Statuses  map[int]string // lead status by attempt, as recorded
}

// SimulationReport compares what the recorded decisions were with what
// another policy would have decided.
type SimulationReport struct {
	WidgetID string           `json:"widget_id"`
	Since    *time.Time       `json:"since"`
	Until    *time.Time       `json:"until"`
	Policy   domain.Policy    `json:"policy"` // without its token
	Added    []LeadChange     `json:"added"`
	Removed  []LeadChange     `json:"removed"`
	Changed  []LeadChange     `json:"changed"`
	Totals   SimulationTotals `json:"totals"`
}

// LeadChange is one deciding fact whose decision would differ. Before is
// nil when nothing was decided on it; After when nothing would be.
type LeadChange struct {
	OrderID string             `json:"order_id"`
	Attempt *int               `json:"attempt"`
	Before  *SimulatedDecision `json:"before"`
	After   *SimulatedDecision `json:"after"`
}

// SimulatedDecision is a decision as a simulation shows it.
type SimulatedDecision struct {
	Decision string          `json:"decision"`
	Key      *string         `json:"key,omitempty"`
	Reason   string          `json:"reason"`
	Status   string          `json:"status,omitempty"` // recorded decisions only
	Payload  json.RawMessage `json:"payload,omitempty"`
}

// SimulationTotals counts decisions before and after, and the differences.
type SimulationTotals struct {
	Orders    int           `json:"orders"`
	Before    VerdictCounts `json:"before"`
	After     VerdictCounts `json:"after"`
	Added     int           `json:"added"`
	Removed   int           `json:"removed"`
	Changed   int           `json:"changed"`
	Unchanged int           `json:"unchanged"`
}

// VerdictCounts counts decisions by verdict: leads sent, skips, waits.
type VerdictCounts struct {
	Leads   int `json:"leads"`
	Skipped int `json:"skipped"`
	Waiting int `json:"waiting"`
}

func (c *VerdictCounts) count(ds []domain.Decision) {
	for _, d := range ds {
		switch d.Verdict {
		case domain.Send:
			c.Leads++
		case domain.Skip:
			c.Skipped++
		case domain.Wait:
			c.Waiting++
		}
	}
}

// SimulatePolicy replays a widget's past orders under another policy: each
// order is placed under it and its events folded in log order by the same
// rules as the projection. It reads the read models only: nothing is
// written, queued or sent.
type SimulatePolicy struct{ history History }

func NewSimulatePolicy(h History) SimulatePolicy { return SimulatePolicy{history: h} }

func (h SimulatePolicy) Handle(ctx context.Context, f HistoryFilter, policy domain.Policy) (SimulationReport, error) {
	shown := policy
	shown.Token = "" // a simulation never uses it; never show it
	r := SimulationReport{WidgetID: f.WidgetID, Since: f.Since, Until: f.Until, Policy: shown,
		Added: []LeadChange{}, Removed: []LeadChange{}, Changed: []LeadChange{}}
	placement := domain.Placement{Policy: &policy}
	err := h.history.WidgetHistory(ctx, f, func(o HistoryOrder) error {
		state := domain.OrderState{OrderID: o.OrderID}
		for _, e := range o.Events {
			e.Note = ""
			state, _ = state.Fold(e, placement)
		}
		r.Totals.Orders++
		r.Totals.Before.count(o.Decisions)
		r.Totals.After.count(state.Decisions)
		return r.compare(o, state.Decisions)
	})
	if err != nil {
		return r, fmt.Errorf("replay widget %s: %w", f.WidgetID, err)
	}
	return r, nil
}

// compare sorts each deciding fact of the order into added, removed,
// changed or unchanged.
func (r *SimulationReport) compare(o HistoryOrder, simulated []domain.Decision) error {
	var attempts []int
	for _, d := range o.Decisions {
		attempts = append(attempts, d.Attempt)
	}
	for _, d := range simulated {
		attempts = append(attempts, d.Attempt)
	}
	slices.Sort(attempts)
	for _, n := range slices.Compact(attempts) {
		before, after := decisionOn(o.Decisions, n), decisionOn(simulated, n)
		if same(before, after) {
			r.Totals.Unchanged++
			continue
		}
		c := LeadChange{OrderID: o.OrderID}
		if n > 0 {
			c.Attempt = &n
		}
		var err error
		if c.Before, err = show(before, o.Statuses[n]); err != nil {
			return err
		}
		if c.After, err = show(after, ""); err != nil {
			return err
		}
		switch wasSent, isSent := sent(before), sent(after); {
		case isSent && !wasSent:
			r.Added = append(r.Added, c)
			r.Totals.Added++
		case wasSent && !isSent:
			r.Removed = append(r.Removed, c)
			r.Totals.Removed++
		default:
			r.Changed = append(r.Changed, c)
			r.Totals.Changed++
		}
	}
	return nil
}

func decisionOn(ds []domain.Decision, attempt int) *domain.Decision {
	for i := range ds {
		if ds[i].Attempt == attempt {
			return &ds[i]
		}
	}
	return nil
}

func sent(d *domain.Decision) bool { return d != nil && d.Verdict == domain.Send }

// same compares what a lead is: its verdict, key, reason and payload.
func same(a, b *domain.Decision) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Verdict != b.Verdict || a.Key != b.Key || a.Reason != b.Reason {
		return false
	}
	if a.Payload == nil || b.Payload == nil {
		return a.Payload == b.Payload
	}
	return *a.Payload == *b.Payload
}

func show(d *domain.Decision, status string) (*SimulatedDecision, error) {
	if d == nil {
		return nil, nil
	}
	s := &SimulatedDecision{Decision: string(d.Verdict), Reason: d.Reason, Status: status}
	if d.Key != "" {
		k := string(d.Key)
		s.Key = &k
	}
	if d.Payload != nil {
		b, err := json.Marshal(d.Payload)
		if err != nil {
			return nil, err
		}
		s.Payload = b
	}
	return s, nil
}
