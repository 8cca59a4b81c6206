package main

import "time"

// plan sizes every phase. Each loop of the benchmark is bounded by a count
// or a duration taken from here.
type plan struct {
	quick bool

	singleClients    int           // concurrent HTTP clients, one event per request
	singleDuration   time.Duration // per side (baseline, HTTP floor, ctjournal)
	singlePerClient  int           // events prepared per client: the count bound
	batchClients     int           // concurrent clients, 1000 events per request
	batches          int           // batches prepared: the count bound of each side
	batchTimeLimit   time.Duration // the time bound of each side
	latencyRate      float64       // events a second, open loop
	latencyDuration  time.Duration
	notifyDuration   time.Duration // LISTEN/NOTIFY baseline at the same pace
	deliveryLeads    int
	growthPoints     []int // stored events before each short run
	growthIngest     time.Duration
	growthLatency    time.Duration
	loadClients      int           // bulk loading through the batch API
	settleTimeout    time.Duration // waiting for the projection and deliveries to go idle
	catchUpTimeout   time.Duration // the longest wait for the projection after a load
	budget           time.Duration // the whole run: loads for the growth points stop short of it
	reserve          time.Duration // what the phases after the growth points need of the budget
	rebuildTimeout   time.Duration
	embeddedLoad     int           // events stored on the embedded store before its phases
	embeddedLoadTime time.Duration // the longest its load and fold may take
	goBenchTime      string
	progressInterval time.Duration
}

func fullPlan() plan {
	return plan{
		singleClients:    8,
		singleDuration:   10 * time.Second,
		singlePerClient:  15_000,
		batchClients:     4,
		batches:          100,
		batchTimeLimit:   8 * time.Second,
		latencyRate:      200,
		latencyDuration:  30 * time.Second,
		notifyDuration:   5 * time.Second,
		deliveryLeads:    5_000,
		growthPoints:     []int{10_000, 100_000, 1_000_000},
		growthIngest:     5 * time.Second,
		growthLatency:    6 * time.Second,
		loadClients:      2,
		settleTimeout:    90 * time.Second,
		catchUpTimeout:   300 * time.Second,
		budget:           9*time.Minute + 30*time.Second,
		reserve:          4 * time.Minute,
		rebuildTimeout:   120 * time.Second,
		embeddedLoad:     300_000,
		embeddedLoadTime: 120 * time.Second,
		goBenchTime:      "1s",
		progressInterval: 3 * time.Second,
	}
}

func quickPlan() plan {
	return plan{
		quick:            true,
		singleClients:    8,
		singleDuration:   3 * time.Second,
		singlePerClient:  6_000,
		batchClients:     4,
		batches:          30,
		batchTimeLimit:   3 * time.Second,
		latencyRate:      200,
		latencyDuration:  5 * time.Second,
		notifyDuration:   2 * time.Second,
		deliveryLeads:    1_000,
		growthPoints:     []int{10_000, 100_000},
		growthIngest:     2 * time.Second,
		growthLatency:    3 * time.Second,
		loadClients:      2,
		settleTimeout:    30 * time.Second,
		catchUpTimeout:   60 * time.Second,
		budget:           100 * time.Second,
		reserve:          50 * time.Second,
		rebuildTimeout:   60 * time.Second,
		embeddedLoad:     50_000,
		embeddedLoadTime: 30 * time.Second,
		goBenchTime:      "100ms",
		progressInterval: 2 * time.Second,
	}
}
