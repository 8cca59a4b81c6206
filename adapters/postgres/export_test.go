package postgres

import (
	"context"
	"database/sql"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
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

// QueryTexts runs a query of one text column (queryTexts).
func QueryTexts(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	return queryTexts(ctx, db, query, args...)
}

// KeyedStatements are the statements that find rows of a growing table
// through keys passed with them, by name: each with its table, and args
// that name one key.
var KeyedStatements = []struct {
	Name, Table, Query string
	Args               []any
}{
	{"moveLeadsOn", "ctj_deliveries", moveLeadsOn, []any{
		`[{"key":"k-7","status":"delivered","next_attempt_at":"2026-01-01T00:00:00Z","at":"2026-01-01T00:00:00Z","owner":"w"}]`,
		pq.Array([]string{"k-7"})}},
	{"recordLeadHistory", "ctj_decisions", recordLeadHistory, []any{
		`[{"position":1,"key":"k-7","try":1,"at":"2026-01-01T00:00:00Z","outcome":"delivered"}]`,
		pq.Array([]string{"k-7"})}},
	{"moveDecisionsOn", "ctj_decisions", moveDecisionsOn, []any{
		`[{"key":"k-7","status":"delivered","tries":1,"delivered_at":"2026-01-01T00:00:00Z"}]`,
		pq.Array([]string{"k-7"})}},
}

// SubscriberAckIsDeferred reports whether the projection's transaction
// takes watermill-sql's offset update, as the subscriber words it, for
// its flush instead of running it at once.
func SubscriberAckIsDeferred() bool {
	q, err := offsetsAdapter().AckMessageQuery(wsql.AckMessageQueryParams{Topic: LogTopic})
	if err != nil {
		return false
	}
	t := &guardedTx{} // no connection: running the query would panic
	_, err = t.ExecContext(context.Background(), q.Query, int64(7), wsql.XID8(9), ProjectionConsumerGroup)
	return err == nil && len(t.ack) == 3
}

// WaitForFlush rewrites the claims of the leads keys name, flushing the
// WAL past every commit before (walFlusher).
func WaitForFlush(ctx context.Context, db *sql.DB, keys []string) error {
	return walFlusher(db)(ctx, keys)
}

// TakeSiteSlot takes the site's next slot (SiteRate.take).
func TakeSiteSlot(ctx context.Context, r *SiteRate, siteID string) (time.Time, time.Duration, error) {
	return r.take(ctx, siteID)
}

// AppendAsOneGroup appends each batch as one call of a single group
// commit, as concurrent requests are, and returns each call's outcome.
func AppendAsOneGroup(ctx context.Context, l *EventLog, batches ...[]app.NewEvent) ([]app.AppendResult, []error) {
	group := make([]*appendCall, len(batches))
	for i, b := range batches {
		group[i] = &appendCall{ctx: ctx, events: b, done: make(chan struct{})}
	}
	l.commit(group)
	results, errs := make([]app.AppendResult, len(group)), make([]error, len(group))
	for i, c := range group {
		results[i], errs[i] = c.result, c.err
	}
	return results, errs
}
