package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// throughput is what a closed-loop run of concurrent clients achieved.
type throughput struct {
	Events  int     `json:"events"`
	Seconds float64 `json:"seconds"`
	PerS    float64 `json:"events_per_s"`
	Errors  int     `json:"errors"`
	P50ms   float64 `json:"request_p50_ms"`
	P99ms   float64 `json:"request_p99_ms"`
}

// clientRun drives clients that each call op in a loop, one request at a
// time. Every loop is bounded: by ops (a count across all clients), by
// limit (a duration), and it stops after 100 errors.
type clientRun struct {
	label   string
	clients int
	ops     int           // total operations available
	own     bool          // each client has its own ops/clients operations, in order
	limit   time.Duration // wall-clock bound
	unit    int           // events per operation
	every   time.Duration // progress interval
}

func (r clientRun) run(ctx context.Context, op func(ctx context.Context, client, i int) error) throughput {
	var next, errs atomic.Int64
	lat := make([][]time.Duration, r.clients)
	p := startProgress(r.label, r.ops*r.unit, r.every)
	start := time.Now()
	deadline := start.Add(r.limit)
	var done atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for c := range r.clients {
		wg.Go(func() {
			mine := 0
			for ctx.Err() == nil && time.Now().Before(deadline) && errs.Load() < 100 {
				i := int(next.Add(1) - 1)
				if r.own {
					i, mine = mine, mine+1
				}
				if i >= r.ops || (r.own && i >= r.ops/r.clients) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, c, i); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
				done.Add(1)
				p.add(r.unit)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	p.end()
	all := slices.Concat(lat...)
	t := throughput{
		Events:  int(done.Load()) * r.unit,
		Seconds: elapsed.Seconds(),
		Errors:  int(errs.Load()),
		P50ms:   percentileMS(all, 50),
		P99ms:   percentileMS(all, 99),
	}
	t.PerS = float64(t.Events) / t.Seconds
	if e := firstErr.Load(); e != nil {
		say("%s: %d errors, the first: %s", r.label, t.Errors, e)
	}
	say("%s: %s events in %.1fs = %s events/s (request p50 %.1f ms, p99 %.1f ms)",
		r.label, thousands(float64(t.Events)), t.Seconds, thousands(t.PerS), t.P50ms, t.P99ms)
	return t
}

// percentileMS is the p-th percentile of ds in milliseconds (nearest rank).
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.5) - 1
	rank = min(max(rank, 0), len(s)-1)
	return ms(s[rank])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
