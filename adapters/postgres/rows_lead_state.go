package postgres

import (
	"ctjournal/app"
	"time"
)

// leadState is what the projection keeps on a send decision's row.
type leadState struct {
	status      string
	tries       int
	deliveredAt *time.Time
}

// move applies one entry of a lead's delivery history: a try counts, a
// status (when given) replaces the lead's, and nothing moves a delivered
// lead.
func (l *leadState) move(try int, at time.Time, status string) {
	if l.status == app.StatusDelivered {
		return
	}
	if try > 0 {
		l.tries++
	}
	if status != "" {
		l.status = status
	}
	if status == app.StatusDelivered {
		l.deliveredAt = &at
	}
}
