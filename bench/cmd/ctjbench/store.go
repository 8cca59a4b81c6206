package main

import "context"

// logStore is where the running serve keeps its log and read models: the
// run's PostgreSQL database, or the embedded store's SQLite file. The
// phases wait on it and read their baselines' floor from it.
type logStore interface {
	// storedEvents counts the log's records.
	storedEvents(ctx context.Context) (int, error)
	// backlog is how far the projection is behind the log: lag estimates
	// the records not yet folded, caughtUp is exact.
	backlog(ctx context.Context) (lag int64, caughtUp bool, err error)
	// pendingLeads counts leads queued and not yet delivered or failed.
	pendingLeads(ctx context.Context) (int, error)
	// checkpoint flushes the WAL before a measured side, so that an
	// earlier phase's writes are not flushed during it.
	checkpoint(ctx context.Context)
	// holdingBack says what may keep the projection from moving.
	holdingBack(ctx context.Context) string
	// scanLog reads the whole log in the projection's order, payloads
	// included: the floor under a rebuild.
	scanLog(ctx context.Context) (perS, seconds float64, err error)
}

// store is the store the phases measure now.
func (b *bench) store() logStore {
	if b.emb != nil {
		return b.emb
	}
	return b.db
}
