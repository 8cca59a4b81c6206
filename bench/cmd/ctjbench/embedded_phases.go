package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// embeddedResult is the details of the embedded store's phases.
type embeddedResult struct {
	Dir      string         `json:"data_dir"`
	Load     *growthRow     `json:"load"`
	Batch    sides          `json:"ingest_batch"`
	Poll     *latency       `json:"decision_baseline_poll"`
	Decision *latency       `json:"decision"`
	Rebuild  *rebuildResult `json:"rebuild"`
}

// embeddedPhases runs serve on the embedded store, DATABASE_URL unset and
// CTJ_DATA_DIR a fresh directory (removed at the end, kept with -keep),
// after the PostgreSQL phases, with PostgreSQL's serve stopped. It loads
// the log, then measures batch ingest, decision latency and the rebuild,
// each next to its baseline on the same SQLite file.
func (b *bench) embeddedPhases(ctx context.Context) (err error) {
	dir, err := os.MkdirTemp("", "ctjbench-embedded-*")
	if err != nil {
		return err
	}
	r := b.res
	r.Embedded = &embeddedResult{Dir: dir}
	b.emb = &embeddedFile{dir: dir}
	defer func() {
		if b.eng != nil {
			rss, stopErr := b.eng.stop()
			b.eng = nil
			r.EmbeddedServePeakRSS, err = num(rss), errors.Join(err, stopErr)
		}
		err = errors.Join(err, b.emb.close())
		b.emb = nil
		if b.cfg.keep {
			say("kept the embedded store in %s", dir)
		} else {
			err = errors.Join(err, os.RemoveAll(dir))
		}
	}()
	say("embedded store: serve with DATABASE_URL unset, CTJ_DATA_DIR=%s", dir)
	if err := b.start(ctx); err != nil {
		return err
	}
	if err := b.emb.open(); err != nil {
		return err
	}
	if err := b.setLeadPolicy(ctx); err != nil {
		return err
	}
	if err := b.emb.createBaselineTable(ctx); err != nil {
		return err
	}

	say("embedded store: loading %s events", thousands(float64(b.p.embeddedLoad)))
	load, err := b.load(ctx, b.p.embeddedLoad, b.p.embeddedLoadTime)
	r.Embedded.Load = &load
	if load.CatchUpBacklog > 0 {
		r.EmbeddedCatchUpPerS = num(load.CatchUpPerS)
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if copied, err := b.emb.fillBaselineTable(ctx); err != nil {
		r.note("embedded store: the raw-INSERT baseline starts from an empty table: %v", err)
	} else {
		say("embedded store: the baseline table holds a copy of the log's %s rows", thousands(float64(copied)))
	}
	phases := []struct {
		name string
		run  func(context.Context) error
	}{{"ingest batch", b.embeddedBatchPhase}, {"decision latency", b.embeddedLatencyPhase}}
	for _, phase := range phases {
		if err := phase.run(ctx); err != nil {
			if fatal(ctx, b, err) {
				return err
			}
			r.note("embedded %s: %v", phase.name, err)
		}
		if _, _, err := b.settle(ctx, "embedded, after "+phase.name, true, b.p.catchUpTimeout); err != nil {
			if fatal(ctx, b, err) {
				return err
			}
			r.note("the next embedded phase starts with work left over: %v", err)
		}
	}
	// The rebuild stops serve: it comes last.
	res := b.measureRebuild(ctx)
	r.Embedded.Rebuild = res
	r.EmbeddedRebuildScanPerS, r.EmbeddedServePeakRSS = nonZero(res.ScanPerS), num(res.ServePeakRSSM)
	if res.Available {
		r.EmbeddedRebuildPerS, r.EmbeddedRebuildRSS = num(res.PerS), num(res.PeakRSSMB)
		if res.ScanPerS > 0 {
			r.EmbeddedRebuildRatio = num(ratio(res.PerS, res.ScanPerS))
		}
	}
	return nil
}

func (b *bench) embeddedBatchPhase(ctx context.Context) error {
	r := b.res
	eng, base, err := b.batchSides(ctx)
	if err != nil {
		return err
	}
	r.Embedded.Batch = sides{Ctjournal: &eng, Baseline: &base}
	r.EmbeddedBatch, r.EmbeddedBatchBase = num(eng.PerS), num(base.PerS)
	r.EmbeddedBatchRatio = num(ratio(eng.PerS, base.PerS))
	return checkErrors("embedded ingest batch", eng, base)
}

func (b *bench) embeddedLatencyPhase(ctx context.Context) error {
	r := b.res
	say("embedded decision latency: %.0f events/s for %s", b.p.latencyRate, b.p.latencyDuration)
	poll, err := b.pollBaseline(ctx, "INSERT → poll every "+embeddedPollInterval.String(), b.p.notifyDuration)
	if err != nil {
		return err
	}
	r.Embedded.Poll = &poll
	r.EmbeddedPollP50, r.EmbeddedPollP99, r.EmbeddedPollMax = num(poll.P50), num(poll.P99), num(poll.Max)
	l, err := b.measureDecisions(ctx)
	if err != nil {
		return err
	}
	r.Embedded.Decision = &l
	r.EmbeddedDecisionP50, r.EmbeddedDecisionP99, r.EmbeddedDecisionMax = num(l.P50), num(l.P99), num(l.Max)
	if l.Missing > 0 {
		r.note("embedded decision latency: %d of %d leads never reached the fake Calltouch within 30 s", l.Missing, l.Samples+l.Missing)
	}
	return nil
}
