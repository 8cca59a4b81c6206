package main

import (
	"context"
	"fmt"
)

func (b *bench) singlePhase(ctx context.Context) error {
	r := b.res
	say("ingest, single events: %d clients, %s a side", b.p.singleClients, b.p.singleDuration)
	streams, err := b.singleStreams(b.p.singleClients, b.p.singlePerClient, true)
	if err != nil {
		return err
	}
	var base throughput
	err = b.cpu("ingest single: baseline", func() error {
		base, err = b.ingestSingleBaseline(ctx, "single-row INSERTs", streams, b.p.singleDuration)
		return err
	})
	if err != nil {
		return err
	}
	// The HTTP floor goes before ctjournal: after ctjournal's side the
	// projection is still folding what it ingested (the run settles only
	// after the phase), which would fall on the floor's side.
	floor := b.httpFloor(ctx)
	eng := b.ingestSingle(ctx, "ingest single: ctjournal", "POST /v1/events, 1 event", b.eng.base, streams, b.p.singleDuration)
	r.Single = sides{Ctjournal: &eng, Baseline: &base, Floor: floor}
	r.IngestSingle, r.IngestSingleBase = num(eng.PerS), num(base.PerS)
	r.IngestSingleRatio = num(ratio(eng.PerS, base.PerS))
	if floor != nil {
		r.IngestSingleFloor, r.IngestSingleFloorRatio = num(floor.PerS), num(ratio(floor.PerS, base.PerS))
		r.note("ctjournal single-event ingest is %.2f of the bare HTTP floor (which is %.2f of the raw INSERTs)",
			ratio(eng.PerS, floor.PerS), *r.IngestSingleFloorRatio)
	}
	return checkErrors("ingest single", eng, base)
}

func (b *bench) batchPhase(ctx context.Context) error {
	r := b.res
	eng, base, err := b.batchSides(ctx)
	if err != nil {
		return err
	}
	r.Batch = sides{Ctjournal: &eng, Baseline: &base}
	r.IngestBatch, r.IngestBatchBase = num(eng.PerS), num(base.PerS)
	r.IngestBatchRatio = num(ratio(eng.PerS, base.PerS))
	return checkErrors("ingest batch", eng, base)
}

// batchSides measures batch ingest through ctjournal and its baseline,
// multi-row INSERTs of the same rows into the store measured now.
func (b *bench) batchSides(ctx context.Context) (eng, base throughput, err error) {
	say("ingest, batches of 1000: %d clients, %d batches a side", b.p.batchClients, b.p.batches)
	events, bodies, err := b.batches(b.p.batches)
	if err != nil {
		return eng, base, err
	}
	err = b.cpu("ingest batch: baseline", func() error {
		base, err = b.ingestBatchesBaseline(ctx, "1000-row INSERTs", events)
		return err
	})
	if err != nil {
		return eng, base, err
	}
	_ = b.cpu("ingest batch: ctjournal", func() error {
		eng = b.ingestBatches(ctx, "POST /v1/events, 1000 events", bodies)
		return nil
	})
	return eng, base, nil
}

func (b *bench) latencyPhase(ctx context.Context) error {
	r := b.res
	say("decision latency: %.0f events/s for %s", b.p.latencyRate, b.p.latencyDuration)
	notify, err := b.notifyBaseline(ctx, "INSERT+NOTIFY → LISTEN", b.p.notifyDuration)
	if err != nil {
		return err
	}
	r.Notify = &notify
	r.NotifyP50, r.NotifyP99, r.NotifyMax = num(notify.P50), num(notify.P99), num(notify.Max)
	l, err := b.measureDecisions(ctx)
	if err != nil {
		return err
	}
	r.Decision = &l
	r.DecisionP50, r.DecisionP99, r.DecisionMax = num(l.P50), num(l.P99), num(l.Max)
	if l.Missing > 0 {
		r.note("decision latency: %d of %d leads never reached the fake Calltouch within 30 s", l.Missing, l.Samples+l.Missing)
	}
	if l.HeldByOthers > 0.01 {
		r.note("decision latency: during %.0f%% of the run an open transaction of another database on the server held log records back from the projection", 100*l.HeldByOthers)
	}
	return nil
}

// measureDecisions measures decision latency at the plan's rate.
func (b *bench) measureDecisions(ctx context.Context) (l latency, err error) {
	err = b.cpu("decision latency", func() error {
		l, err = b.decisionLatency(ctx, "decision latency", b.p.latencyDuration)
		return err
	})
	return l, err
}

func (b *bench) deliveryPhase(ctx context.Context) error {
	say("delivery: a burst of %d queued leads", b.p.deliveryLeads)
	d, err := b.delivery(ctx, b.p.deliveryLeads)
	if err != nil {
		return err
	}
	b.res.Delivery = &d
	b.res.DeliveryPerS, b.res.DeliveryBase = num(d.PerS), num(d.BaselinePer)
	return nil
}

// rebuildPhase stops serve, reads the log once as the baseline, runs
// `ctjournal rebuild` and starts serve again.
func (b *bench) rebuildPhase(ctx context.Context) error {
	r := b.res
	res := b.measureRebuild(ctx)
	r.Rebuild = res
	r.RebuildScanPerS = nonZero(res.ScanPerS)
	if res.Available {
		r.RebuildPerS, r.RebuildRSS = num(res.PerS), num(res.PeakRSSMB)
	}
	if err := b.start(ctx); err != nil {
		return err
	}
	if _, _, err := b.settle(ctx, "after rebuild", true, b.p.catchUpTimeout); err != nil {
		return fmt.Errorf("the headline figures were measured with work left over: %w", err)
	}
	return nil
}

// measureRebuild stops serve, reads the log once as the baseline and runs
// `ctjournal rebuild` on the store measured now. serve stays stopped.
func (b *bench) measureRebuild(ctx context.Context) *rebuildResult {
	r := b.res
	rss, err := b.eng.stop()
	b.eng = nil
	if err != nil {
		r.note("serve did not stop cleanly before the rebuild: %v", err)
	}
	stored, _ := b.store().storedEvents(ctx)
	say("rebuild over %s stored events (serve stopped; it peaked at %.0f MB RSS)", thousands(float64(stored)), rss)
	scanPerS, scanSecs, err := b.store().scanLog(ctx)
	if err != nil {
		r.note("baseline scan of the log failed: %v", err)
	} else {
		say("ordered SELECT of the log: %s events/s", thousands(scanPerS))
	}
	var res rebuildResult
	_ = b.cpu("rebuild", func() error { res = b.runRebuild(ctx); return nil })
	phase := b.phaseName("rebuild")
	if u := r.CPU[phase]; res.WallSeconds > 0 {
		// The rebuild process, not serve, is ctjournal in this phase.
		u.Engine = res.CPUSeconds / res.WallSeconds
		u.Other = max(0, u.Other-u.Engine)
		r.CPU[phase] = u
		say("rebuild: the rebuild process used %.2f cores", u.Engine)
	}
	res.StoredEvents, res.ScanPerS, res.ScanSeconds, res.ServePeakRSSM = stored, scanPerS, scanSecs, rss
	if res.Available {
		say("rebuild: %s events in %.1fs = %s events/s, peak RSS %.0f MB (it reports: %s)",
			thousands(float64(res.Events)), res.WallSeconds, thousands(res.PerS), res.PeakRSSMB, res.LastLine)
	} else {
		r.note("rebuild not measured: %s", res.Note)
	}
	return &res
}

// nonZero is v, or null when it is 0: not measured.
func nonZero(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return num(v)
}

func checkErrors(phase string, sides ...throughput) error {
	for _, s := range sides {
		if s.Errors > 0 {
			return fmt.Errorf("%s: %d requests failed", phase, s.Errors)
		}
	}
	return nil
}
