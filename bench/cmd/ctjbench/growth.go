package main

import (
	"context"
	"fmt"
	"time"
)

// growthRow is one short run with a given number of events already stored.
type growthRow struct {
	StoredEvents    int        `json:"stored_events"`
	IngestPerS      float64    `json:"ingest_single_events_per_s"`
	Decision        latency    `json:"decision"`
	CatchUpSeconds  float64    `json:"catch_up_seconds"` // the projection folding what the load added
	CatchUpBacklog  int64      `json:"catch_up_backlog"`
	Load            throughput `json:"load"`
	CatchUpPerS     float64    `json:"catch_up_events_per_s"`
	LoadPlusCatchUp float64    `json:"load_and_catch_up_seconds"`
	Added           int        `json:"added_events"`
}

// pace is how fast the load and the projection together took in events:
// what predicts the next point's cost.
func (g growthRow) pace() float64 {
	if g.LoadPlusCatchUp <= 0 {
		return 0
	}
	return float64(g.Added) / g.LoadPlusCatchUp
}

// A bulk batch is ordersPerBulkBatch whole orders: 999 events (111 orders
// of 3 events, 111 of 6).
const (
	ordersPerBulkBatch = 222
	bulkBatchEvents    = ordersPerBulkBatch * 9 / 2
)

// load brings the log to at least target records through the batch API at
// full speed (orders of bulkWidget, which has no policy), then waits until
// the projection has folded everything.
func (b *bench) load(ctx context.Context, target int, limit time.Duration) (growthRow, error) {
	var row growthRow
	stored, err := b.store().storedEvents(ctx)
	if err != nil {
		return row, err
	}
	start := time.Now()
	label := thousands(float64(target))
	if need := target - stored; need > 0 {
		o := newOrders(b.nextPrefix("bulk"), bulkWidget)
		r := clientRun{label: "load to " + label, clients: b.p.loadClients,
			ops: (need + bulkBatchEvents - 1) / bulkBatchEvents, limit: limit, unit: bulkBatchEvents, every: b.p.progressInterval}
		_ = b.cpu("load to "+label, func() error {
			row.Load = r.run(ctx, func(ctx context.Context, _, i int) error {
				var events []event
				for n := i * ordersPerBulkBatch; n < (i+1)*ordersPerBulkBatch; n++ {
					events = append(events, o.lifecycle(n)...)
				}
				return b.postEvents(ctx, batchBody(events))
			})
			return nil
		})
		if row.Load.Errors > 0 {
			return row, fmt.Errorf("loading: %d batches failed", row.Load.Errors)
		}
	}
	var took time.Duration
	var backlog int64
	err = b.cpu("fold "+label, func() error {
		var err error
		took, backlog, err = b.settle(ctx, "fold "+label, true, max(time.Second, limit-time.Since(start)))
		return err
	})
	row.CatchUpSeconds, row.CatchUpBacklog = took.Seconds(), backlog
	if took > 0 {
		row.CatchUpPerS = float64(backlog) / took.Seconds()
	}
	row.LoadPlusCatchUp = time.Since(start).Seconds()
	if err != nil {
		return row, err
	}
	row.StoredEvents, err = b.store().storedEvents(ctx)
	row.Added = row.StoredEvents - stored
	return row, err
}

// growthPoint loads to target, then runs short single-event ingest and
// decision-latency runs. A point whose load and catch-up would not fit in
// the run's budget, at the pace the previous point took, is skipped.
func (b *bench) growthPoint(ctx context.Context, target int, prev *growthRow) (growthRow, error) {
	say("growth: %s events stored", thousands(float64(target)))
	stored, err := b.store().storedEvents(ctx)
	if err != nil {
		return growthRow{}, err
	}
	allowed := time.Until(b.deadline) - b.p.reserve - b.p.growthIngest - b.p.growthLatency - 10*time.Second
	allowed = min(allowed, b.p.catchUpTimeout)
	if need := target - stored; need > 0 && prev != nil && prev.pace() > 0 {
		predicted := time.Duration(float64(need) / prev.pace() * float64(time.Second))
		if predicted > allowed {
			return growthRow{}, fmt.Errorf("loading and folding %s more events at the previous point's pace (%s events/s) would take about %s; %s is left for it within the run's %s",
				thousands(float64(need)), thousands(prev.pace()), predicted.Round(time.Second), max(0, allowed).Round(time.Second), b.p.budget)
		}
	}
	if allowed < 10*time.Second {
		return growthRow{}, fmt.Errorf("no time left in the run's %s for it", b.p.budget)
	}
	row, err := b.load(ctx, target, allowed)
	if err != nil {
		return row, err
	}
	// Enough events for 12,000 a second: the run's duration bounds it.
	perClient := int(b.p.growthIngest.Seconds() * 12_000 / float64(b.p.singleClients))
	streams, err := b.singleStreams(b.p.singleClients, perClient, false)
	if err != nil {
		return row, err
	}
	label := fmt.Sprintf("at %s", thousands(float64(row.StoredEvents)))
	row.IngestPerS = b.ingestSingle(ctx, "growth ingest "+label, "ingest single "+label, b.eng.base, streams, b.p.growthIngest).PerS
	if _, _, err := b.settle(ctx, "after ingest "+label, true, b.p.settleTimeout); err != nil {
		return row, err
	}
	err = b.cpu("growth latency "+label, func() error {
		row.Decision, err = b.decisionLatency(ctx, "decision latency "+label, b.p.growthLatency)
		return err
	})
	if err != nil {
		return row, err
	}
	if row.Decision.HeldByOthers > 0.01 {
		b.res.note("decision latency %s: during %.0f%% of the run an open transaction of another database on the server held log records back from the projection",
			label, 100*row.Decision.HeldByOthers)
	}
	_, _, err = b.settle(ctx, "after latency "+label, true, b.p.settleTimeout)
	return row, err
}
