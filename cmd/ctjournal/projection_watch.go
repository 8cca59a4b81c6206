package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"ctjournal/adapters/postgres/projection"

	"github.com/prometheus/client_golang/prometheus"
)

// stallAfter is how long records may stay held back by another open
// transaction before the projection counts as stalled.
const stallAfter = 5 * time.Second

// projectionWatch measures the projection's backlog every few seconds,
// exports it as metrics, logs a stall (and its end), and tells /readyz.
// What it shows without a token, /readyz and /metrics, says nothing of
// the transaction that holds the projection back; the log names its pid,
// database, user and state, never its SQL text (another application's).
type projectionWatch struct {
	check       func(context.Context) (projection.Health, error)
	log         *slog.Logger
	behind      prometheus.Gauge
	heldBack    prometheus.Gauge
	stalled     prometheus.Gauge
	quarantined prometheus.Gauge

	mu         sync.Mutex
	heldSince  time.Time
	stallError error
}

func newProjectionWatch(check func(context.Context) (projection.Health, error), reg *prometheus.Registry, log *slog.Logger) *projectionWatch {
	w := &projectionWatch{
		check: check, log: log,
		behind:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_behind_records", Help: "Committed log records the projection has not folded yet."}),
		heldBack: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_held_back_records", Help: "Records the projection cannot see yet because an older transaction is still open on the server."}),
		stalled:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_stalled", Help: "1 while another open transaction has held records back for more than 5 s."}),
		quarantined: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_quarantined_records",
			Help: "Log records the projection set aside because it could not apply them (ctjournal quarantine)."}),
	}
	reg.MustRegister(w.behind, w.heldBack, w.stalled, w.quarantined)
	return w
}

// countShare bounds the time the watch spends counting: the count reads
// every record the projection is behind, a few hundred milliseconds for
// half a million (a catch-up after downtime), and counting that every
// second would take a good part of a core from the catch-up itself.
const countShare = 20

// Run checks every interval until ctx ends, or less often while a check
// takes more than interval/countShare.
func (w *projectionWatch) Run(ctx context.Context, interval time.Duration) {
	for {
		start := time.Now()
		w.observe(ctx, start)
		select {
		case <-ctx.Done():
			return
		case <-time.After(nextCheck(interval, time.Since(start))):
		}
	}
}

// nextCheck is the wait before the next check, after one that took took.
func nextCheck(interval, took time.Duration) time.Duration {
	return max(interval, countShare*took)
}

func (w *projectionWatch) observe(ctx context.Context, now time.Time) {
	h, err := w.check(ctx)
	if err != nil {
		return // the store is down: /readyz says so through its own query
	}
	w.behind.Set(float64(h.BehindRecords))
	w.heldBack.Set(float64(h.HeldBackRecords))
	w.quarantined.Set(float64(h.Quarantined))
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case h.HeldBackRecords == 0:
		if w.stallError != nil {
			w.log.Info("projection no longer stalled: catching up", "behind", h.BehindRecords)
		}
		w.heldSince, w.stallError = time.Time{}, nil
		w.stalled.Set(0)
	case w.heldSince.IsZero():
		w.heldSince = now
	case now.Sub(w.heldSince) >= stallAfter:
		if w.stallError == nil {
			args := []any{"held_back", h.HeldBackRecords}
			if b := h.HeldBackBy; b != nil {
				args = append(args, "blocker_pid", b.PID, "blocker_database", b.Database, "blocker_user", b.User,
					"blocker_state", b.State, "blocker_age_s", int64(b.AgeSeconds))
			}
			w.log.Warn("projection stalled: an open transaction holds newer log records back; decisions wait until it ends", args...)
		}
		w.stallError = fmt.Errorf("projection stalled: held back %d s by a transaction open elsewhere on the database server",
			int64(now.Sub(w.heldSince).Seconds()))
		w.stalled.Set(1)
	}
}

// Ready reports a stall as a readiness failure.
func (w *projectionWatch) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stallError
}

// readiness answers /readyz: the store answers (counting the records the
// projection set aside) and the projection is not stalled. Its reasons are
// short and name nothing else on the server.
func readiness(countQuarantined func(context.Context) (int64, error), watch *projectionWatch) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		n, err := countQuarantined(ctx)
		if err != nil {
			return 0, errors.New("store unreachable")
		}
		return n, watch.Ready()
	}
}
