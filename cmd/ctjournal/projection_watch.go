package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/adapters/postgres"
)

// stallAfter is how long records may stay held back by another open
// transaction before the projection counts as stalled.
const stallAfter = 5 * time.Second

// projectionWatch measures the projection's backlog every few seconds,
// exports it as metrics, logs a stall (and its end), and tells /readyz.
type projectionWatch struct {
	check    func(context.Context) (postgres.ProjectionHealth, error)
	log      *slog.Logger
	behind   prometheus.Gauge
	heldBack prometheus.Gauge
	stalled  prometheus.Gauge

	mu         sync.Mutex
	heldSince  time.Time
	stallError error
}

func newProjectionWatch(check func(context.Context) (postgres.ProjectionHealth, error), reg *prometheus.Registry, log *slog.Logger) *projectionWatch {
	w := &projectionWatch{
		check: check, log: log,
		behind:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_behind_records", Help: "Committed log records the projection has not folded yet."}),
		heldBack: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_held_back_records", Help: "Records the projection cannot see yet because an older transaction is still open on the server."}),
		stalled:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctj_projection_stalled", Help: "1 while another open transaction has held records back for more than 5 s."}),
	}
	reg.MustRegister(w.behind, w.heldBack, w.stalled)
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
		return // the store is down: /readyz says so through its ping
	}
	w.behind.Set(float64(h.Behind))
	w.heldBack.Set(float64(h.HeldBack))
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case h.HeldBack == 0:
		if w.stallError != nil {
			w.log.Info("projection no longer stalled: catching up", "behind", h.Behind)
		}
		w.heldSince, w.stallError = time.Time{}, nil
		w.stalled.Set(0)
	case w.heldSince.IsZero():
		w.heldSince = now
	case now.Sub(w.heldSince) >= stallAfter:
		if w.stallError == nil {
			w.log.Warn("projection stalled: an open transaction holds newer log records back; decisions wait until it ends",
				"held_back", h.HeldBack, "blocker", h.Blocker)
		}
		w.stallError = fmt.Errorf("projection stalled for %s: %d log records held back by an open transaction (%s)",
			now.Sub(w.heldSince).Round(time.Second), h.HeldBack, h.Blocker)
		w.stalled.Set(1)
	}
}

// Ready reports a stall as a readiness failure.
func (w *projectionWatch) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stallError
}

// readiness combines the store's ping with the projection's health.
func readiness(ping func(context.Context) error, watch *projectionWatch) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := ping(ctx); err != nil {
			return fmt.Errorf("store unreachable: %w", err)
		}
		return watch.Ready()
	}
}
