package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lib/pq"
)

// notifyBaseline is the floor under decision latency: at the same steady
// rate, a transaction inserts a row into bench_raw and NOTIFYs; the delay
// is from its COMMIT returning to a LISTENing connection receiving the
// notification. Nothing of ctjournal is involved.
func (b *bench) notifyBaseline(ctx context.Context, label string, dur time.Duration) (latency, error) {
	listener := pq.NewListener(b.db.url, 10*time.Millisecond, time.Second, nil)
	defer listener.Close()
	if err := listener.Listen("ctjbench"); err != nil {
		return latency{}, fmt.Errorf("listen: %w", err)
	}
	var mu sync.Mutex
	received := map[string]time.Time{}
	listening, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for {
			select {
			case <-listening.Done():
				return
			case n := <-listener.Notify:
				if n != nil {
					at := time.Now()
					mu.Lock()
					received[n.Extra] = at
					mu.Unlock()
				}
			}
		}
	}()

	total := int(b.p.latencyRate * dur.Seconds())
	events := newOrders(b.nextPrefix("notify"), ingestWidget).stream(0, total)
	if err := withCanonical(events); err != nil {
		return latency{}, err
	}
	committed := make([]time.Time, total)
	p := startProgress(label, total, b.p.progressInterval)
	late := openLoop(ctx, b.p.latencyRate, total, func(k int) {
		e := events[k]
		tx, err := b.db.db.BeginTx(ctx, nil)
		if err != nil {
			return
		}
		_, err1 := tx.ExecContext(ctx, insertOne, e.id, e.canonical, emptyMetadata)
		_, err2 := tx.ExecContext(ctx, `SELECT pg_notify('ctjbench', $1)`, e.id)
		if err1 != nil || err2 != nil {
			tx.Rollback()
			return
		}
		if tx.Commit() == nil {
			committed[k] = time.Now()
			p.add(1)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= total {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.end()
	stop()

	mu.Lock()
	defer mu.Unlock()
	l := delays(committed, func(k int) (time.Time, bool) {
		at, ok := received[events[k].id]
		return at, ok
	}, late)
	say("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d missing", label, l.P50, l.P99, l.Max, l.Missing)
	return l, nil
}
