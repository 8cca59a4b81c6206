package queue

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// queueSweeper vacuums the delivery queue as leads move through it. A
// claim finds the due leads through a partial index in due order; a lead
// that leaves the queue (delivered, failed) or is rescheduled leaves its old
// index entry behind until VACUUM, and every claim walks over all of them:
// measured at 9 ms a claim after 3,000 leads delivered, 190 ms after
// 200,000, and 0.1 ms after a VACUUM. Autovacuum would do it, but triggers
// late on a big table (20 % of its rows changed, by default) and is off on
// some servers; so the engine sweeps its own queue, in the background,
// after every `every` tries recorded by this process. Sweeps are spaced so
// that at most a fiftieth of the time goes to them (a VACUUM briefly holds
// each index page it cleans, and claims wait): a big queue, slower to
// vacuum, is swept less often.
type queueSweeper struct {
	db      *sql.DB
	every   int           // tries between sweeps
	gap     time.Duration // the shortest time between sweeps
	mu      sync.Mutex
	moved   int
	next    time.Time // no sweep before
	running bool
}

func newQueueSweeper(db *sql.DB) *queueSweeper {
	return &queueSweeper{db: db, every: 1000, gap: 2 * time.Second}
}

// tried counts n tries recorded; it starts a sweep when one is due.
func (s *queueSweeper) tried(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moved += n
	if s.running || s.moved < s.every || time.Now().Before(s.next) {
		return
	}
	s.running, s.moved = true, 0
	go s.sweep()
}

func (s *queueSweeper) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	// Best effort: a sweep that fails (no privilege, the server restarting)
	// costs slower claims, never data.
	// No truncation: giving back the empty pages at the table's end takes
	// a lock that would hold every claim and try still for its duration.
	if _, err := s.db.ExecContext(ctx, `VACUUM (TRUNCATE false) ctj_deliveries`); err != nil {
		slog.Warn("vacuum of the delivery queue failed", "err", err)
	}
	s.mu.Lock()
	s.running, s.next = false, time.Now().Add(max(s.gap, 50*time.Since(start)))
	s.mu.Unlock()
}
