package queue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
)

// SiteRate spaces the requests to each Calltouch site to at most rps a
// second across every serve on the database (CTJ_CALLTOUCH_RPS;
// app.SiteLimiter); 0 means no limit. Each request takes the site's next
// slot from ctj_site_slots and moves it one interval on, in one statement
// whose row lock orders concurrent takers, then waits for its slot. Times
// are PostgreSQL's, so the processes' clocks need not agree.
//
// A slot whose wait is given up stays taken: the site then gets less than
// its rate for a moment, never more.
type SiteRate struct {
	db       *sql.DB
	interval time.Duration
}

func NewSiteRate(db *sql.DB, rps float64) *SiteRate {
	r := &SiteRate{db: db}
	if rps > 0 {
		r.interval = time.Duration(float64(time.Second) / rps)
	}
	return r
}

// takeSlot moves the site's next slot one interval past the later of
// itself and now, and returns the slot taken and how long until it comes.
const takeSlot = `INSERT INTO ctj_site_slots AS s (site_id, next_at)
	VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
	ON CONFLICT (site_id) DO UPDATE SET next_at = greatest(s.next_at, clock_timestamp()) + $2::bigint * interval '1 microsecond'
	RETURNING next_at - $2::bigint * interval '1 microsecond',
		greatest(0, (extract(epoch FROM next_at - clock_timestamp()) * 1e6)::bigint - $2::bigint)`

// Wait blocks until the site may get one more request, or ctx ends.
func (r *SiteRate) Wait(ctx context.Context, siteID string) error {
	if r.interval <= 0 {
		return nil
	}
	_, wait, err := r.take(ctx, siteID)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take takes the site's next slot: when it is, and how long until then.
func (r *SiteRate) take(ctx context.Context, siteID string) (slot time.Time, wait time.Duration, err error) {
	var waitMicros int64
	err = r.db.QueryRowContext(ctx, takeSlot, siteID, r.interval.Microseconds()).Scan(&slot, &waitMicros)
	if err != nil {
		return time.Time{}, 0, pgdb.Unavailable(fmt.Errorf("take a Calltouch slot for site %s: %w", siteID, err))
	}
	return slot, time.Duration(waitMicros) * time.Microsecond, nil
}
