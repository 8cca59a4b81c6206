package reliability

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

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"
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

	e := harness.Start(t)
	db := e.OpenDB(t)
	e.Fake.FailRate(10, 8)
	e.PutPolicy("rel-soak-w", harness.PolicyFor(e.Fake, nil))
	g := loadgen.NewLoadGen("rel-soak", "rel-soak-w", e.Process)
	pid := e.PID()

	// A ticker hands out one order per tick to a pool of clients; a tick
	// that finds every client busy is counted, not queued.
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	hard, stopHard := context.WithTimeout(context.Background(), duration+2*time.Minute)
	defer stopHard()
	work := make(chan *loadgen.GenOrder, 16)
	var missed atomic.Int64
	var clients sync.WaitGroup
	for range 8 {
		clients.Go(func() {
			for o := range work {
				if rand.IntN(2) == 0 {
					for _, ev := range o.Events {
						g.Post(ctx, hard, []harness.Event{ev})
					}
				} else {
					g.Post(ctx, hard, o.Events)
				}
			}
		})
	}

	var samples []soakSample
	sample := func(at time.Duration) {
		s := soakSample{at: at.Round(time.Second), delivered: harness.QueryInt(t, db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'delivered'`)}
		var err error
		if s.rssKiB, err = harness.VMRSS(pid); err != nil {
			t.Errorf("VmRSS of serve: %v", err)
		}
		if m, err := e.Metrics(); err != nil {
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
			case work <- g.NewOrder():
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

	r := loadgen.CheckDelivered(t, db, g, e.Fake, nil, 3*time.Minute)
	sample(time.Since(start))
	if !e.Alive() || e.PID() != pid {
		t.Fatalf("serve did not survive the soak")
	}

	g.Mu.Lock()
	orders := len(g.Orders)
	g.Mu.Unlock()
	t.Logf("soak %s at %.0f orders/s asked: %d orders (%.1f/s), %d events acknowledged (%.1f/s), %d leads delivered (%.1f/s), %d ticks missed; %s",
		elapsed.Round(time.Second), rate, orders, float64(orders)/elapsed.Seconds(), r.Acked, float64(r.Acked)/elapsed.Seconds(),
		r.Delivered, float64(r.Delivered)/elapsed.Seconds(), missed.Load(), g.Summary())
	t.Logf("counts: %s; Calltouch answered 503 to %.1f %% of requests", r, 100*float64(r.Requests-r.Accepted)/float64(max(1, r.Requests)))
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
	if r.Delivered == 0 {
		t.Errorf("no lead delivered: %s", g.Summary())
	}
}
