package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// latency is a distribution of delays, in milliseconds.
type latency struct {
	Samples int     `json:"samples"`
	Missing int     `json:"missing"` // expected, never seen within the wait
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Mean    float64 `json:"mean_ms"`
	Late    int     `json:"late_sends"` // sends more than 5 ms behind the schedule
	// HeldByOthers is the share of 100 ms samples during the run in which
	// committed log records were invisible to the projection because a
	// transaction of another database on the server was older than them
	// (watermill-sql reads only below the server's pg_snapshot_xmin).
	HeldByOthers float64 `json:"held_back_by_other_databases"`
}

// delays summarizes the delay from each send's start to when seen says
// its effect was seen; a send that never started or was never seen is
// missing. late is how many sends fell behind their schedule.
func delays(started []time.Time, seen func(k int) (time.Time, bool), late int) latency {
	var ds []time.Duration
	missing := 0
	for k, at0 := range started {
		at, ok := seen(k)
		if !ok || at0.IsZero() {
			missing++
			continue
		}
		ds = append(ds, max(0, at.Sub(at0)))
	}
	l := summarize(ds, missing)
	l.Late = late
	return l
}

func summarize(ds []time.Duration, missing int) latency {
	l := latency{Samples: len(ds), Missing: missing, P50: percentileMS(ds, 50), P99: percentileMS(ds, 99)}
	var sum time.Duration
	for _, d := range ds {
		sum += d
		l.Max = max(l.Max, ms(d))
	}
	if len(ds) > 0 {
		l.Mean = ms(sum / time.Duration(len(ds)))
	}
	return l
}

// openLoop calls send(k) for k in 0..total-1 at start + k/rate, each in its
// own goroutine, whether or not earlier sends have been answered: the
// offered load stays at rate however slow the answers are. At most 512 are
// in flight; a send that had to wait for that is counted late.
func openLoop(ctx context.Context, rate float64, total int, send func(k int)) (late int) {
	interval := time.Duration(float64(time.Second) / rate)
	slots := make(chan struct{}, 512)
	var wg sync.WaitGroup
	var lateSends atomic.Int64
	start := time.Now().Add(20 * time.Millisecond)
	for k := 0; k < total && ctx.Err() == nil; k++ {
		due := start.Add(time.Duration(k) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		slots <- struct{}{}
		if time.Since(due) > 5*time.Millisecond {
			lateSends.Add(1)
		}
		wg.Go(func() {
			defer func() { <-slots }()
			send(k)
		})
	}
	wg.Wait()
	return int(lateSends.Load())
}

// decisionLatency posts events at a steady rate, half of them qualifying
// events, and measures from each qualifying event's 202 to the moment the
// fake Calltouch received its lead. Orders are placed one second before
// their answer: event k is the answer of order k/2 when k is even, else the
// call.ordered of order k/2 + rate/2.
func (b *bench) decisionLatency(ctx context.Context, label string, dur time.Duration) (latency, error) {
	rate := b.p.latencyRate
	measured := int(rate * dur.Seconds() / 2)
	ahead := int(rate / 2)
	o := newOrders(b.nextPrefix("lat"), leadWidget)
	ordered := make([]event, measured+ahead)
	answered := make([]event, measured+ahead)
	for n := range ordered {
		ordered[n], answered[n] = o.leadPair(n)
	}
	if err := b.postEvents(ctx, batchBody(ordered[:ahead])); err != nil {
		return latency{}, err
	}
	if _, _, err := b.settle(ctx, label, true, b.p.settleTimeout); err != nil {
		return latency{}, err
	}
	before := b.fake.Count()
	accepted := make([]time.Time, measured)
	var failed atomic.Int64
	p := startProgress(label, 2*measured, b.p.progressInterval)
	p.extra = func() string { return "leads received " + thousands(float64(b.fake.Count()-before)) }
	watching, stopWatch := context.WithCancel(ctx)
	held := make(chan float64, 1)
	go func() { held <- b.heldByOthers(watching) }()
	late := openLoop(ctx, rate, 2*measured, func(k int) {
		e := answered[k/2]
		if k%2 == 1 {
			e = ordered[k/2+ahead]
		}
		if err := b.postEvents(ctx, e.envelope); err != nil {
			failed.Add(1)
			return
		}
		if k%2 == 0 {
			accepted[k/2] = time.Now()
		}
		p.add(1)
	})
	b.fake.WaitFor(before+measured, 30*time.Second)
	stopWatch()
	p.end()

	arrived := map[string]time.Time{}
	for _, r := range b.fake.Requests()[before:] {
		key := r.Form.Get("requestNumber")
		if _, seen := arrived[key]; !seen {
			arrived[key] = r.At
		}
	}
	l := delays(accepted, func(n int) (time.Time, bool) {
		at, ok := arrived[leadKey(o.orderID(n))]
		return at, ok
	}, late)
	l.HeldByOthers = <-held
	if n := failed.Load(); n > 0 {
		say("%s: %d posts failed", label, n)
	}
	say("%s: %d leads: p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d missing, %d late sends; held back by other databases %.0f%% of the time",
		label, l.Samples, l.P50, l.P99, l.Max, l.Missing, l.Late, 100*l.HeldByOthers)
	return l, nil
}

// heldByOthers samples, every 250 ms until ctx ends, whether committed log
// records are held back from the projection by an open transaction of
// another database, and returns the share of samples in which they were.
// A sample is one index probe; pg_stat_activity, costly to plan, is asked
// only when records are held back, so the tool stays light on the server
// it measures.
// The embedded store has no other databases: it returns 0 when ctx ends.
func (b *bench) heldByOthers(ctx context.Context) float64 {
	if b.emb != nil {
		<-ctx.Done()
		return 0
	}
	samples, held := 0, 0
	for {
		select {
		case <-ctx.Done():
			if samples == 0 {
				return 0
			}
			return float64(held) / float64(samples)
		case <-time.After(250 * time.Millisecond):
		}
		var behind bool
		var oldest string
		// The newest record in the engine's order has the largest
		// transaction id: it is held back when that is not below the xmin.
		err := b.db.db.QueryRowContext(ctx, `SELECT
			COALESCE((SELECT transaction_id >= pg_snapshot_xmin(pg_current_snapshot()) FROM ctj_log
				ORDER BY transaction_id DESC, "offset" DESC LIMIT 1), false)`).Scan(&behind)
		if err == nil && behind {
			err = b.db.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT datname FROM pg_stat_activity
				WHERE backend_xid IS NOT NULL ORDER BY age(backend_xid) DESC LIMIT 1), '')`).Scan(&oldest)
		}
		if err != nil {
			continue
		}
		samples++
		if behind && oldest != "" && oldest != b.db.name {
			held++
		}
	}
}
