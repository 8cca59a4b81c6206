package tests

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakSample is one look at serve during the soak.
type soakSample struct {
	at         time.Duration // since the start
	rssKiB     int
	goroutines int
	delivered  int
}

// Promise 8 — load held. `make soak` (CTJ_SOAK=1): orders at a steady
// rate for CTJ_SOAK_DURATION (default 5m) at CTJ_SOAK_RATE orders a
// second (default 20), Calltouch failing 10 % of the requests with 503.
// Serve's resident memory (/proc) and goroutines (/metrics) sampled every
// 10 s stay flat, and every lead is delivered.
func TestSoak_SteadyLoad(t *testing.T) {
	if os.Getenv("CTJ_SOAK") != "1" {
		t.Skip("the soak runs minutes: CTJ_SOAK=1 (make soak)")
	}
	duration := 5 * time.Minute
	if v := os.Getenv("CTJ_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 30*time.Second {
			t.Fatalf("CTJ_SOAK_DURATION %q: want a Go duration of at least 30s", v)
		}
		duration = d
	}
	rate := 20.0
	if v := os.Getenv("CTJ_SOAK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			t.Fatalf("CTJ_SOAK_RATE %q: want orders a second, > 0", v)
		}
		rate = r
	}

	e := startEngine(t)
	db := e.openDB(t)
	e.fake.FailRate(10, 8)
	e.putPolicy("rel-soak-w", policyFor(e.fake, nil))
	g := newLoadGen("rel-soak", "rel-soak-w", e.process)
	pid := e.pid()

	// A ticker hands out one order per tick to a pool of clients; a tick
	// that finds every client busy is counted, not queued.
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	hard, stopHard := context.WithTimeout(context.Background(), duration+2*time.Minute)
	defer stopHard()
	work := make(chan *genOrder, 16)
	var missed atomic.Int64
	var clients sync.WaitGroup
	for range 8 {
		clients.Go(func() {
			for o := range work {
				if rand.IntN(2) == 0 {
					for _, ev := range o.events {
						g.post(ctx, hard, []event{ev})
					}
				} else {
					g.post(ctx, hard, o.events)
				}
			}
		})
	}

	var samples []soakSample
	sample := func(at time.Duration) {
		s := soakSample{at: at.Round(time.Second), delivered: queryInt(t, db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'delivered'`)}
		var err error
		if s.rssKiB, err = vmRSS(pid); err != nil {
			t.Errorf("VmRSS of serve: %v", err)
		}
		if m, err := e.metrics(); err != nil {
			t.Errorf("GET /metrics: %v", err)
		} else {
			s.goroutines = int(m["go_goroutines"])
		}
		samples = append(samples, s)
	}

	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	sampler := time.NewTicker(10 * time.Second)
	sample(0)
	for running := true; running; {
		select {
		case <-tick.C:
			if time.Since(start) >= duration {
				running = false
				break
			}
			select {
			case work <- g.newOrder():
			default:
				missed.Add(1)
			}
		case <-sampler.C:
			sample(time.Since(start))
		}
	}
	tick.Stop()
	sampler.Stop()
	close(work)
	clients.Wait()
	elapsed := time.Since(start)
	stopLoad()

	r := checkDelivered(t, db, g, e.fake, nil, 3*time.Minute)
	sample(time.Since(start))
	if !e.alive() || e.pid() != pid {
		t.Fatalf("serve did not survive the soak")
	}

	g.mu.Lock()
	orders := len(g.orders)
	g.mu.Unlock()
	t.Logf("soak %s at %.0f orders/s asked: %d orders (%.1f/s), %d events acknowledged (%.1f/s), %d leads delivered (%.1f/s), %d ticks missed; %s",
		elapsed.Round(time.Second), rate, orders, float64(orders)/elapsed.Seconds(), r.acked, float64(r.acked)/elapsed.Seconds(),
		r.delivered, float64(r.delivered)/elapsed.Seconds(), missed.Load(), g.summary())
	t.Logf("counts: %s; Calltouch answered 503 to %.1f %% of requests", r, 100*float64(r.requests-r.accepted)/float64(max(1, r.requests)))
	for _, s := range samples {
		t.Logf("  %6s  VmRSS %6d KiB  goroutines %4d  delivered %6d", s.at, s.rssKiB, s.goroutines, s.delivered)
	}

	// Flat: after a minute's warm-up (or the second sample of a short
	// soak) no later sample is far above it, and once the load has ended
	// and every lead is delivered, serve has no more goroutines than then:
	// a leak per request or per try would leave thousands.
	base := samples[min(6, len(samples)-2)]
	later := samples[slices.Index(samples, base):]
	maxRSS, maxG := 0, 0
	for _, s := range later {
		maxRSS, maxG = max(maxRSS, s.rssKiB), max(maxG, s.goroutines)
	}
	first, last := samples[0], samples[len(samples)-1]
	t.Logf("VmRSS KiB first %d, at %s %d, last %d, max %d; goroutines first %d, at %s %d, last %d, max %d",
		first.rssKiB, base.at, base.rssKiB, last.rssKiB, maxRSS, first.goroutines, base.at, base.goroutines, last.goroutines, maxG)
	if limit := base.rssKiB*13/10 + 16<<10; maxRSS > limit {
		t.Errorf("VmRSS grew from %d KiB (at %s) to %d KiB, over %d KiB: memory is not flat", base.rssKiB, base.at, maxRSS, limit)
	}
	if limit := base.goroutines*2 + 30; maxG > limit {
		t.Errorf("goroutines grew from %d (at %s) to %d, over %d: not flat", base.goroutines, base.at, maxG, limit)
	}
	if limit := base.goroutines + 20; last.goroutines > limit {
		t.Errorf("%d goroutines once the load ended and every lead was delivered, %d at %s: some were left behind", last.goroutines, base.goroutines, base.at)
	}
	if r.delivered == 0 {
		t.Errorf("no lead delivered: %s", g.summary())
	}
}
