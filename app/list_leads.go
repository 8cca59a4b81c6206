package app

import (
	"context"
	"strconv"
	"time"

	"ctjournal/domain"
)

// Lead statuses shown by the API and the read models.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	StatusWaiting   = "waiting"
)

// LeadFilter narrows GET /v1/leads. Zero values mean "any".
type LeadFilter struct {
	WidgetID string
	Status   string
	Since    *time.Time
	Until    *time.Time
	Limit    int
	Cursor   string // opaque, from a previous page
}

// ParseLeadLimit reads a lead listing's page size as the API and the
// console take it: an integer from 1 to 1000.
func ParseLeadLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, &domain.FieldError{Field: "limit", Message: "must be an integer from 1 to 1000"}
	}
	return n, nil
}

// LeadRow is one decision as the lead listing shows it.
type LeadRow struct {
	Key         *string    `json:"key"`
	OrderID     string     `json:"order_id"`
	WidgetID    string     `json:"widget_id"`
	Attempt     *int       `json:"attempt"`
	Decision    string     `json:"decision"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	DecidedAt   time.Time  `json:"decided_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// LeadPage is one page of leads, newest decided_at first.
type LeadPage struct {
	Leads      []LeadRow `json:"leads"`
	NextCursor *string   `json:"next_cursor"`
}

// ListLeads pages through decisions for support and analysts.
type ListLeads struct{ queries Queries }

func NewListLeads(q Queries) ListLeads { return ListLeads{queries: q} }

// Handle returns one page; the caller has validated the filter.
func (h ListLeads) Handle(ctx context.Context, f LeadFilter) (LeadPage, error) {
	return h.queries.Leads(ctx, f)
}
