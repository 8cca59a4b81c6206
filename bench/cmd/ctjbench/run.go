package main

import (
	"context"
	"time"
)

// runAll runs the phases in order. The growth points come first, while
// the log is small; the headline figures are measured after the rebuild,
// with the largest log in place.
func (b *bench) runAll(ctx context.Context) (*results, error) {
	r := b.res
	begin := time.Now()
	r.LoadStart = loadAverage()
	defer func() { r.Seconds, r.LoadEnd = time.Since(begin).Seconds(), loadAverage() }()
	serverStart := b.db.serverStarted(ctx)
	defer func() {
		if now := b.db.serverStarted(context.WithoutCancel(ctx)); now != serverStart {
			r.note("PostgreSQL restarted during the run (it started at %s, now at %s): figures measured around then are not comparable", serverStart, now)
		}
	}()
	pgVersion, settings := b.db.serverVersion(ctx)
	r.Machine, r.PostgresSettings = machine(pgVersion), settings
	say("machine: %s", r.Machine)
	say("database %s; ctjournal %s", b.db.name, b.cfg.bin)

	if b.cfg.goBench {
		say("go test -bench ./domain/ (benchtime %s)", b.p.goBenchTime)
		gb, _, err := goBenchmarks(ctx, b.cfg.goCmd, b.p.goBenchTime)
		r.GoBenchmarks = gb
		if err != nil {
			r.note("domain micro-benchmarks failed: %v", err)
		}
	}
	if err := b.start(ctx); err != nil {
		return r, err
	}
	if err := b.setLeadPolicy(ctx); err != nil {
		return r, err
	}
	if err := b.db.createBaselineTable(ctx); err != nil {
		return r, err
	}

	b.deadline = begin.Add(b.p.budget)
	var largestBacklog int64
	for _, target := range b.p.growthPoints {
		var prev *growthRow
		if len(r.Growth) > 0 {
			prev = &r.Growth[len(r.Growth)-1]
		}
		row, err := b.growthPoint(ctx, target, prev)
		if err != nil {
			if fatal(ctx, b, err) {
				return r, err
			}
			r.note("growth point %s skipped, and the points after it: %v", thousands(float64(target)), err)
			break
		}
		r.Growth = append(r.Growth, row)
		// The largest backlog drained gives the projection's catch-up rate.
		if row.CatchUpBacklog >= max(5_000, largestBacklog) {
			largestBacklog, r.CatchUpPerS = row.CatchUpBacklog, num(row.CatchUpPerS)
		}
	}
	if b.cfg.runs("rebuild") {
		if err := b.rebuildPhase(ctx); err != nil {
			if fatal(ctx, b, err) {
				return r, err
			}
			r.note("%v", err)
		}
	}
	if b.cfg.runs("single") || b.cfg.runs("batch") || b.cfg.runs("latency") {
		began := time.Now()
		if copied, err := b.db.fillBaselineTable(ctx); err != nil {
			r.note("the raw-INSERT baselines start from an empty table: %v", err)
		} else {
			say("the baseline table holds a copy of the log's %s rows (%.1f s)", thousands(float64(copied)), time.Since(began).Seconds())
		}
	}
	phases := []struct {
		name, only string
		run        func(context.Context) error
	}{{"ingest single", "single", b.singlePhase}, {"ingest batch", "batch", b.batchPhase}, {"ingest through brokers", "brokers", b.brokerPhase},
		{"decision latency", "latency", b.latencyPhase}, {"delivery", "delivery", b.deliveryPhase}}
	for _, phase := range phases {
		if !b.cfg.runs(phase.only) {
			continue
		}
		if err := phase.run(ctx); err != nil {
			if fatal(ctx, b, err) {
				return r, err
			}
			r.note("%s: %v", phase.name, err)
		}
		if _, _, err := b.settle(ctx, "after "+phase.name, true, b.p.catchUpTimeout); err != nil {
			if fatal(ctx, b, err) {
				return r, err
			}
			r.note("the next phase starts with work left over: %v", err)
		}
	}
	rss, err := b.eng.stop()
	b.eng = nil
	r.ServePeakRSS = num(rss)
	if err != nil {
		return r, err
	}
	if !b.cfg.runs("embedded") {
		return r, nil
	}
	if err := b.embeddedPhases(ctx); err != nil {
		if ctx.Err() != nil {
			return r, err
		}
		r.note("embedded store: %v", err)
	}
	return r, nil
}

// fatal reports whether the run cannot go on: it was interrupted, or the
// engine is gone.
func fatal(ctx context.Context, b *bench, err error) bool {
	if ctx.Err() != nil || b.eng == nil {
		return true
	}
	return b.eng.Ended()
}
