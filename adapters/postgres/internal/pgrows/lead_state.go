package pgrows

import (
	"time"

	"ctjournal/app"
)

// leadState is what the projection keeps on a send decision's row.
type LeadState struct {
	Status      string
	Tries       int
	DeliveredAt *time.Time
}

// move applies one entry of a lead's delivery history: a try counts, a
// status (when given) replaces the lead's, and nothing moves a delivered
// lead.
func (l *LeadState) Move(try int, at time.Time, status string) {
	if l.Status == app.StatusDelivered {
		return
	}
	if try > 0 {
		l.Tries++
	}
	if status != "" {
		l.Status = status
	}
	if status == app.StatusDelivered {
		l.DeliveredAt = &at
	}
}
