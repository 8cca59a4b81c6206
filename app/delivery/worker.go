// Package delivery is the delivery worker: a long-running process of the
// application that sends each lead the projection queued to Calltouch,
// one try at a time, and records every try in the log.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"ctjournal/app"
)

// Worker sends due leads to Calltouch, one try each, and records every try
// in the log. It is safe to run in several processes at once: claims keep
// a key with one process at a time. Leads also reach it straight from the
// projection (app.LeadHandoff, handoff.go).
type Worker struct {
	queue     app.DeliveryQueue
	policies  app.PolicyStore
	calltouch app.Calltouch
	limiter   app.SiteLimiter
	cfg       Config
	state     *workerState
}

// NewWorker builds a worker on the delivery ports of ports under cfg.
func NewWorker(ports app.Ports, cfg Config) (*Worker, error) {
	cfg.setDefaults()
	if err := errors.Join(cfg.validate(), validatePorts(ports)); err != nil {
		return nil, fmt.Errorf("delivery worker: %w", err)
	}
	return &Worker{queue: ports.DeliveryQueue, policies: ports.Policies, calltouch: ports.Calltouch,
		limiter: ports.SiteLimiter, cfg: cfg, state: newWorkerState(cfg.Parallel)}, nil
}

// Run delivers until ctx ends: a round whenever wake fires (a lead was
// queued or requeued), at least every idle, and at once again after a full
// batch. Errors (the store down, say) are logged and the next round retries.
// It takes hand-overs while it runs; one Run at a time.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}, idle time.Duration) {
	defer w.state.takeHandOvers(ctx)()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		claimed, err := w.Handle(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("delivery round failed", "err", err)
		}
		next := idle
		if claimed == w.cfg.Batch {
			next = 0
		}
		timer.Reset(next)
	}
}

// Handle runs one round: fails leads past their deadline, claims due ones
// and tries each. It returns how many it claimed, so the caller can run the
// next round at once when the batch was full. Once stop ends, leads not yet
// tried are released at once; tries already under way finish and are
// recorded, so no claim is left behind. While a try's record waits for the
// store, it claims nothing (workerState.unrecorded).
func (w *Worker) Handle(stop context.Context) (int, error) {
	ctx := context.WithoutCancel(stop)
	now := w.cfg.Now()
	if n, err := w.queue.GiveUpExpired(ctx, now); err != nil {
		return 0, fmt.Errorf("give up expired leads: %w", err)
	} else if n > 0 {
		w.cfg.Log.Warn("leads given up", "count", n)
	}
	if w.state.unrecorded.Load() > 0 {
		return 0, nil
	}
	leaseEnd := now.Add(w.cfg.Lease)
	leads, err := w.queue.Claim(ctx, w.cfg.Owner, now, leaseEnd, w.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim leads: %w", err)
	}
	access := newAccessCache(w.policies)
	var tries sync.WaitGroup
	for _, lead := range leads {
		w.state.takeSlot()
		tries.Go(func() {
			defer w.state.freeSlot()
			w.tryLogged(stop, ctx, access, lead, leaseEnd)
		})
	}
	tries.Wait()
	return len(leads), nil
}
