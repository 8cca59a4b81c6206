package harness

import (
	"encoding/json"
	"time"
)

type Explanation struct {
	OrderID       string     `json:"order_id"`
	WidgetID      string     `json:"widget_id"`
	PolicyVersion *int       `json:"policy_version"`
	Events        []LogEvent `json:"events"`
	Decisions     []Decision `json:"decisions"`
}

// Decision returns the decision on attempt (0: taken at order time).
func (x Explanation) Decision(attempt int) (Decision, bool) {
	for _, d := range x.Decisions {
		if (d.Attempt == nil && attempt == 0) || (d.Attempt != nil && *d.Attempt == attempt) {
			return d, true
		}
	}
	return Decision{}, false
}

type LogEvent struct {
	Position   int64     `json:"position"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Attempt    *int      `json:"attempt"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Note       *string   `json:"note"`
}

type Decision struct {
	Attempt       *int              `json:"attempt"`
	Decision      string            `json:"decision"`
	Key           *string           `json:"key"`
	Reason        string            `json:"reason"`
	Warnings      []string          `json:"warnings"`
	PolicyVersion *int              `json:"policy_version"`
	DecidedAt     time.Time         `json:"decided_at"`
	Status        string            `json:"status"`
	Payload       map[string]string `json:"payload"`
	Tries         []Try             `json:"tries"`
	History       []LeadEvent       `json:"history"`
}

func (d Decision) String() string {
	b, _ := json.Marshal(d)
	return string(b)
}

type Try struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	HTTPStatus *int      `json:"http_status"`
	Response   string    `json:"response"`
	Error      *string   `json:"error"`
	Outcome    string    `json:"outcome"` // ours: delivered, transient, refused
}

// LeadEvent is a give-up or a redelivery request (history, not tries).
type LeadEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Reason string    `json:"reason"`
}

type LeadPage struct {
	Leads      []Lead  `json:"leads"`
	NextCursor *string `json:"next_cursor"`
}

type Lead struct {
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
