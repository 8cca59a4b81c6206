package sqlite

import (
	"context"
	"testing"
	"time"
)

// The projection begins its transaction only once the append that holds
// the writer is done.
func TestWriterTurns_ProjectionWaitsForTheAppendUnderWay(t *testing.T) {
	var w writerTurns
	done := w.appendArrives(1)
	began := make(chan struct{})
	go func() {
		w.yieldToAppends(context.Background())
		close(began)
	}()
	select {
	case <-began:
		t.Fatal("the projection began while an append held the writer")
	case <-time.After(maxProjectionYield / 10):
	}
	done()
	<-began
}

// Under a burst of appends the projection takes short batches; once the
// burst is over, whole ones again.
func TestWriterTurns_ShortBatchesUnderABurstOnly(t *testing.T) {
	var w writerTurns
	if got := w.projectionBatch(500); got != 500 {
		t.Fatalf("batch with no append: %d, want 500", got)
	}
	w.appendArrives(burstEvents)()
	if got := w.projectionBatch(500); got != burstBatch {
		t.Fatalf("batch under a burst: %d, want %d", got, burstBatch)
	}
	if got := w.projectionBatch(50); got != 50 {
		t.Fatalf("batch under a burst, configured below it: %d, want 50", got)
	}
	w.mu.Lock()
	w.window = w.window.Add(-2 * burstWindow)
	w.mu.Unlock()
	if got := w.projectionBatch(500); got != 500 {
		t.Fatalf("batch after the burst: %d, want 500", got)
	}
}
