package rebuild

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// A rebuild replays only records the live projection has judged (never
// past its offset), so it sets aside exactly the records the projection
// set aside: it skips those in the quarantine. A record it still cannot
// apply is skipped too, and counted with them. The bulk phase writes its
// rows with COPY, in batches whose failure names no record, so it refuses
// a value the copies could not hold while folding the record instead.

// setAsidePositions are the positions of the quarantined records among
// positions (all of them when positions is nil).
func setAsidePositions(ctx context.Context, q pgdb.Querier, positions []int64) (map[int64]bool, error) {
	query, args := `SELECT position FROM ctj_poison WHERE position IS NOT NULL`, []any{}
	if positions != nil {
		query, args = query+` AND position = ANY ($1)`, append(args, pq.Array(positions))
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read the quarantine: %w", err)
	}
	defer rows.Close()
	aside := map[int64]bool{}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read the quarantine: %w", err)
		}
		aside[p] = true
	}
	return aside, rows.Err()
}

// withoutSetAside drops the records set aside from recs and returns how
// many it dropped.
func withoutSetAside(recs []app.LogRecord, aside map[int64]bool) ([]app.LogRecord, int) {
	if len(aside) == 0 {
		return recs, 0
	}
	kept := recs[:0]
	for _, rec := range recs {
		if !aside[rec.Position] {
			kept = append(kept, rec)
		}
	}
	return kept, len(recs) - len(kept)
}

// holdable refuses an order change with a value the copies cannot hold:
// the projection's flush refuses it too, and sets its record aside.
func holdable(c *app.OrderChange) error {
	e := c.Event
	err := holdsTime(e.OccurredAt)
	if f := pgrows.OrderedFact(c.State); err == nil && f != nil && f.Order.ScheduledAt != nil {
		err = holdsTime(*f.Order.ScheduledAt)
	}
	for _, d := range c.Step.Changed {
		if err == nil {
			err = holdsTime(d.DecidedAt)
		}
	}
	if err == nil && e.Attempt > math.MaxInt32 {
		err = fmt.Errorf("attempt %d out of range", e.Attempt)
	}
	if err != nil {
		return &app.PermanentError{Err: fmt.Errorf("record %d: %w", e.Position, err)}
	}
	return nil
}

// holdsTime refuses a time the read models cannot store as the
// projection writes it: years 1–9999, in UTC.
func holdsTime(t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("time %s out of range", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// leadEventHoldable is holdable for a lead's history entry.
func leadEventHoldable(position int64, key domain.LeadKey, at time.Time) error {
	if err := holdsTime(at); err != nil {
		return &app.PermanentError{Err: fmt.Errorf("record %d (lead %s): %w", position, key, err)}
	}
	return nil
}
