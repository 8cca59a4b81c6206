package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ProjectionHealth is how far the projection is behind the log, and why.
type ProjectionHealth struct {
	// Behind counts committed log records the projection has not folded yet.
	Behind int64
	// HeldBack counts those of them it cannot see yet: watermill-sql hands
	// out only records older than the oldest transaction still open on the
	// whole server (pg_snapshot_xmin), so one long-open transaction anywhere
	// holds every newer record back.
	HeldBack int64
	// Blocker describes the oldest open transaction when records are held
	// back: pid, database, state, age and query.
	Blocker string
}

// CheckProjection measures the projection's backlog.
func CheckProjection(ctx context.Context, db *sql.DB) (ProjectionHealth, error) {
	var h ProjectionHealth
	err := db.QueryRowContext(ctx, `
		SELECT count(*), count(*) FILTER (WHERE l.transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))
		FROM ctj_log l, ctj_log_offsets o
		WHERE o.consumer_group = $1
			AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked)`,
		ProjectionConsumerGroup).Scan(&h.Behind, &h.HeldBack)
	if err != nil {
		return h, unavailable(fmt.Errorf("measure projection backlog: %w", err))
	}
	if h.HeldBack == 0 {
		return h, nil
	}
	var (
		pid                  int
		dbName, state, query sql.NullString
		age                  time.Duration
		ageSeconds           float64
	)
	err = db.QueryRowContext(ctx, `
		SELECT pid, datname, state, EXTRACT(EPOCH FROM now() - xact_start), left(query, 120)
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
		ORDER BY age(backend_xid) DESC LIMIT 1`).Scan(&pid, &dbName, &state, &ageSeconds, &query)
	if err == sql.ErrNoRows {
		return h, nil // the holder finished meanwhile
	}
	if err != nil {
		return h, unavailable(fmt.Errorf("find the oldest open transaction: %w", err))
	}
	age = time.Duration(ageSeconds * float64(time.Second)).Round(time.Second)
	h.Blocker = fmt.Sprintf("pid %d in database %s, %s for %s: %s", pid, dbName.String, state.String, age, query.String)
	return h, nil
}
