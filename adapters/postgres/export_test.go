package postgres

import (
	"context"
	"database/sql"
	"time"

	"ctjournal/app"
)

// SweepQueueAfter makes d vacuum its queue after every tries recorded,
// with no gap between sweeps.
func SweepQueueAfter(d *Deliveries, tries int) {
	d.tries.sweeper.every, d.tries.sweeper.gap = tries, time.Nanosecond
}

// TriesRecorded counts n tries as recorded, as a group commit does.
func TriesRecorded(d *Deliveries, n int) { d.tries.sweeper.tried(n) }

// TryRecordID is the log record id of a try (tryRecordID).
func TryRecordID(owner string, t app.DeliveryTried) string { return tryRecordID(owner, t) }

// QueryTexts runs a query of one text column (queryTexts).
func QueryTexts(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	return queryTexts(ctx, db, query, args...)
}
