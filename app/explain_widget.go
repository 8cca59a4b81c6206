package app

import (
	"context"
	"time"
)

// WidgetFilter picks a widget's decisions by decided_at, in [Since, Until);
// a missing bound is open.
type WidgetFilter struct {
	WidgetID string
	Since    *time.Time
	Until    *time.Time
}

// WidgetSummary is what support asks first about a widget: how many leads
// reached Calltouch, how many are still on their way or failed, and why
// the rest were not sent.
type WidgetSummary struct {
	WidgetID    string           `json:"widget_id"`
	Since       *time.Time       `json:"since"`
	Until       *time.Time       `json:"until"`
	Orders      int64            `json:"orders"`    // orders with a decision in the range
	Decisions   int64            `json:"decisions"` // decisions in the range
	ByStatus    map[string]int64 `json:"by_status"` // every status, zeros included
	SkipReasons []ReasonCount    `json:"skip_reasons"`
	WaitReasons []ReasonCount    `json:"wait_reasons"`
}

// Add counts n decisions of one status and reason (the reason of a send
// is not counted apart), in the order the store lists them.
func (s *WidgetSummary) Add(status, reason string, n int64) {
	s.Decisions += n
	s.ByStatus[status] += n
	switch status {
	case StatusSkipped:
		s.SkipReasons = append(s.SkipReasons, ReasonCount{Reason: reason, Count: n})
	case StatusWaiting:
		s.WaitReasons = append(s.WaitReasons, ReasonCount{Reason: reason, Count: n})
	}
}

// ReasonCount is how many decisions gave one reason; most frequent first.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// LeadStatuses lists the statuses in the order a summary shows them.
var LeadStatuses = []string{StatusDelivered, StatusPending, StatusFailed, StatusSkipped, StatusWaiting}

// ExplainWidget summarises a widget's decisions for support.
type ExplainWidget struct{ summaries WidgetSummaries }

func NewExplainWidget(s WidgetSummaries) ExplainWidget { return ExplainWidget{summaries: s} }

func (h ExplainWidget) Handle(ctx context.Context, f WidgetFilter) (WidgetSummary, error) {
	s, err := h.summaries.WidgetSummary(ctx, f)
	if err != nil {
		return s, err
	}
	s.WidgetID, s.Since, s.Until = f.WidgetID, f.Since, f.Until
	if s.ByStatus == nil {
		s.ByStatus = map[string]int64{}
	}
	for _, st := range LeadStatuses {
		s.ByStatus[st] += 0
	}
	if s.SkipReasons == nil {
		s.SkipReasons = []ReasonCount{}
	}
	if s.WaitReasons == nil {
		s.WaitReasons = []ReasonCount{}
	}
	return s, nil
}
