package main

import (
	"context"
	"sync"
	"time"
)

// embeddedPollInterval is how often serve's projection reads the embedded
// store's log when idle (cmd/ctjournal/serve_embedded.go): SQLite has no
// NOTIFY, so a new record waits for the next poll.
const embeddedPollInterval = 20 * time.Millisecond

// pollBaseline is the floor under decision latency on the embedded store,
// as notifyBaseline is on PostgreSQL: at the same steady rate, an
// autocommitted INSERT adds a row to bench_raw; the delay is from its
// commit returning to a reader that polls the table at serve's interval
// seeing the row. Nothing of ctjournal is involved.
func (b *bench) pollBaseline(ctx context.Context, label string, dur time.Duration) (latency, error) {
	var from int64
	if err := b.emb.read.QueryRowContext(ctx, `SELECT COALESCE(max("offset"), 0) FROM bench_raw`).Scan(&from); err != nil {
		return latency{}, err
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	polling, stop := context.WithCancel(ctx)
	defer stop()
	var poller sync.WaitGroup
	poller.Go(func() {
		for {
			select {
			case <-polling.Done():
				return
			case <-time.After(embeddedPollInterval):
			}
			from = b.pollRows(polling, from, &mu, seen)
		}
	})

	total := int(b.p.latencyRate * dur.Seconds())
	events := newOrders(b.nextPrefix("poll"), ingestWidget).stream(0, total)
	if err := withCanonical(events); err != nil {
		return latency{}, err
	}
	committed := make([]time.Time, total)
	p := startProgress(label, total, b.p.progressInterval)
	late := openLoop(ctx, b.p.latencyRate, total, func(k int) {
		if b.emb.insertRows(ctx, events[k:k+1]) == nil {
			committed[k] = time.Now()
			p.add(1)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= total {
			break
		}
		time.Sleep(embeddedPollInterval)
	}
	p.end()
	stop()
	poller.Wait()

	l := delays(committed, func(k int) (time.Time, bool) {
		at, ok := seen[events[k].id]
		return at, ok
	}, late)
	say("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d missing", label, l.P50, l.P99, l.Max, l.Missing)
	return l, nil
}

// pollRows reads bench_raw's rows after offset from, notes when each was
// seen, and returns the last offset read.
func (b *bench) pollRows(ctx context.Context, from int64, mu *sync.Mutex, seen map[string]time.Time) int64 {
	rows, err := b.emb.read.QueryContext(ctx, `SELECT "offset", uuid FROM bench_raw WHERE "offset" > ? ORDER BY "offset"`, from)
	if err != nil {
		return from
	}
	defer rows.Close()
	at := time.Now()
	for rows.Next() {
		var id string
		if rows.Scan(&from, &id) != nil {
			return from
		}
		mu.Lock()
		seen[id] = at
		mu.Unlock()
	}
	return from
}
