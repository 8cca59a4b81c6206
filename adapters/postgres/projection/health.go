package projection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// Health is how far the projection is behind the log, why, and
// how many records it set aside.
type Health struct {
	app.ProjectionStatus
	Quarantined int64
}

// Check measures the projection's backlog. Records are held
// back when watermill-sql cannot hand them out yet: it hands out only
// records older than the oldest transaction still open on the whole server
// (pg_snapshot_xmin), so one long-open transaction anywhere holds every
// newer record back. That transaction is described by who runs it, never
// by what it runs: its SQL text belongs to another application.
func Check(ctx context.Context, db *sql.DB) (Health, error) {
	var h Health
	var lag sql.NullFloat64
	err := db.QueryRowContext(ctx, `
		SELECT count(*), count(*) FILTER (WHERE l.transaction_id >= pg_snapshot_xmin(pg_current_snapshot())),
			EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - min(l.created_at)),
			(SELECT count(*) FROM ctj_poison WHERE position IS NOT NULL)
		FROM ctj_log l, ctj_log_offsets o
		WHERE o.consumer_group = $1
			AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked)`,
		pgdb.ProjectionConsumerGroup).Scan(&h.BehindRecords, &h.HeldBackRecords, &lag, &h.Quarantined)
	if err != nil {
		return h, pgdb.Unavailable(fmt.Errorf("measure projection backlog: %w", err))
	}
	h.LagSeconds = max(0, lag.Float64)
	if h.HeldBackRecords == 0 {
		return h, nil
	}
	var (
		t                   app.OpenTransaction
		dbName, user, state sql.NullString
	)
	err = db.QueryRowContext(ctx, `
		SELECT pid, datname, usename, state, EXTRACT(EPOCH FROM now() - xact_start)
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
		ORDER BY age(backend_xid) DESC LIMIT 1`).Scan(&t.PID, &dbName, &user, &state, &t.AgeSeconds)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil // the holder finished meanwhile
	}
	if err != nil {
		return h, pgdb.Unavailable(fmt.Errorf("find the oldest open transaction: %w", err))
	}
	t.Database, t.User, t.State = dbName.String, user.String, state.String
	h.HeldBackBy = &t
	return h, nil
}

// Status reports the engine's state for operators (app.StatusReader).
type Status struct{ db *sql.DB }

func NewStatus(db *sql.DB) *Status { return &Status{db: db} }

func (s *Status) Status(ctx context.Context) (app.EngineStatus, error) {
	h, err := Check(ctx, s.db)
	if err != nil {
		return app.EngineStatus{}, err
	}
	st := app.EngineStatus{Projection: h.ProjectionStatus, QuarantinedRecords: h.Quarantined, DeliveryQueue: map[string]int64{}}
	rows, err := s.db.QueryContext(ctx, `SELECT status, count(*) FROM ctj_deliveries GROUP BY status`)
	if err != nil {
		return st, pgdb.Unavailable(fmt.Errorf("count the delivery queue: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return st, pgdb.Unavailable(fmt.Errorf("count the delivery queue: %w", err))
		}
		st.DeliveryQueue[status] = n
	}
	if err := rows.Err(); err != nil {
		return st, pgdb.Unavailable(fmt.Errorf("count the delivery queue: %w", err))
	}
	return st, nil
}

var _ app.StatusReader = (*Status)(nil)
