package sqlite

import (
	"context"
	"sync"
	"time"
)

// writerTurns shares the file's one writer between appends and the
// projection, appends first. An append is what a client waits for; the
// projection's batch can come a little later, and nothing is lost while
// it waits: its records stay in the log.
//
// The projection begins a transaction once no append waits for the writer
// or holds it, or once it has yielded for maxProjectionYield, so that it
// moves on under a steady stream of appends. An append then waits at most
// for the batch under way. Under a burst of appends (burstEvents appended
// within burstWindow) the projection also takes short batches
// (burstBatch) and pauses between them four times as long as the last one
// held the writer: it takes a fifth of the writer at most, lags, and
// catches up once the burst is over. Otherwise the fold, which costs a
// record several times what the append of an event costs, would bound
// ingest to the pace of both together.
type writerTurns struct {
	mu      sync.Mutex
	appends int           // appends waiting for the writer or holding it
	drained chan struct{} // closed when appends drops to zero
	// Events appended in the window under way and in the one before.
	window         time.Time
	events, before int
	// When the projection last began a transaction.
	projectionBegan time.Time
}

const (
	// maxProjectionYield bounds how long the projection leaves the writer
	// to appends before it takes one turn.
	maxProjectionYield = 100 * time.Millisecond
	burstWindow        = 100 * time.Millisecond
	burstEvents        = 2000
	burstBatch         = 100
	burstPause         = 4 // times the projection's last turn
)

// appendArrives notes an append of n events that wants the writer; the
// returned function notes that it is done.
func (w *writerTurns) appendArrives(n int) (done func()) {
	w.mu.Lock()
	if w.appends == 0 {
		w.drained = make(chan struct{})
	}
	w.appends++
	w.countLocked(time.Now(), n)
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.appends--; w.appends == 0 {
			close(w.drained)
		}
	}
}

// countLocked adds n events to the window of now.
func (w *writerTurns) countLocked(now time.Time, n int) {
	switch elapsed := now.Sub(w.window); {
	case elapsed >= 2*burstWindow:
		w.window, w.events, w.before = now, 0, 0
	case elapsed >= burstWindow:
		w.window, w.events, w.before = w.window.Add(burstWindow), 0, w.events
	}
	w.events += n
}

// burst tells whether appends come in a burst now.
func (w *writerTurns) burst() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.countLocked(time.Now(), 0)
	return w.events+w.before >= burstEvents
}

// projectionBatch is how many records the projection takes in its next
// transaction, at most full.
func (w *writerTurns) projectionBatch(full int) int {
	if w.burst() {
		return min(full, burstBatch)
	}
	return full
}

// projectionTurn waits until the projection may begin a transaction.
func (w *writerTurns) projectionTurn(ctx context.Context) {
	w.mu.Lock()
	held := time.Since(w.projectionBegan)
	w.mu.Unlock()
	if w.burst() {
		sleep(ctx, min(burstPause*held, maxProjectionYield))
	}
	w.yieldToAppends(ctx)
	w.mu.Lock()
	w.projectionBegan = time.Now()
	w.mu.Unlock()
}

// yieldToAppends waits until no append wants the writer, at most
// maxProjectionYield.
func (w *writerTurns) yieldToAppends(ctx context.Context) {
	w.mu.Lock()
	if w.appends == 0 {
		w.mu.Unlock()
		return
	}
	drained := w.drained
	w.mu.Unlock()
	timer := time.NewTimer(maxProjectionYield)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
	case <-ctx.Done():
	}
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
