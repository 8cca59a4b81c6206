package queue

import (
	"context"
	"time"

	"github.com/lib/pq"

	"ctjournal/app"
)

// SweepQueueAfter makes d vacuum its queue after every tries recorded,
// with no gap between sweeps.
func SweepQueueAfter(d *Deliveries, tries int) {
	d.tries.sweeper.every, d.tries.sweeper.gap = tries, time.Nanosecond
}

// TriesRecorded counts n tries as recorded, as a group commit does.
func TriesRecorded(d *Deliveries, n int) { d.tries.sweeper.tried(n) }

// TriesSinceSweep is how many tries d counted since it last started a
// sweep: a sweep, when due, starts within TriesRecorded and sets it to 0.
func TriesSinceSweep(d *Deliveries) int {
	s := d.tries.sweeper
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moved
}

// TryRecordID is the log record id of a try (tryRecordID).
func TryRecordID(owner string, t app.DeliveryTried) string { return tryRecordID(owner, t) }

// KeyedStatements are the queue's statements that find rows through keys
// passed with them.
var KeyedStatements = []struct {
	Name, Table, Query string
	Args               []any
}{
	{Name: "moveLeadsOn", Table: "ctj_deliveries", Query: moveLeadsOn, Args: []any{
		`[{"key":"k-7","status":"delivered","next_attempt_at":"2026-01-01T00:00:00Z","at":"2026-01-01T00:00:00Z","owner":"w"}]`,
		pq.Array([]string{"k-7"})}},
}

// TakeSiteSlot takes the site's next slot (SiteRate.take).
func TakeSiteSlot(ctx context.Context, r *SiteRate, siteID string) (time.Time, time.Duration, error) {
	return r.take(ctx, siteID)
}
