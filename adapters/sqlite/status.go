package sqlite

import (
	"context"
	"fmt"
	"time"

	"ctjournal/app"
)

// Status reports the projection's lag, the quarantine and the delivery
// queue (app.StatusReader). SQLite commits in offset order and its readers
// see every commit, so no record is ever held back by an open transaction.
type Status struct{ s *Store }

func (st *Status) Status(ctx context.Context) (app.EngineStatus, error) {
	out := app.EngineStatus{DeliveryQueue: map[string]int64{}}
	db := st.s.reader(ctx)
	var oldest stamp
	err := db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM ctj_log
		WHERE "offset" > COALESCE((SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = ?), 0)`,
		ProjectionConsumerGroup).Scan(&out.Projection.BehindRecords, &oldest)
	if err != nil {
		return out, unavailable(fmt.Errorf("measure the projection's lag: %w", err))
	}
	if oldest.Valid {
		out.Projection.LagSeconds = max(0, time.Since(oldest.Time).Seconds())
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM ctj_poison`).Scan(&out.QuarantinedRecords); err != nil {
		return out, unavailable(fmt.Errorf("count the quarantine: %w", err))
	}
	rows, err := db.QueryContext(ctx, `SELECT status, count(*) FROM ctj_deliveries GROUP BY status`)
	if err != nil {
		return out, unavailable(fmt.Errorf("count the delivery queue: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return out, unavailable(err)
		}
		out.DeliveryQueue[status] = n
	}
	return out, unavailable(rows.Err())
}
