package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/domain"
)

func TestWorker_ReservesOnlyFreeSlotsWhileRunning(t *testing.T) {
	t.Parallel()
	worker := idleWorker(t, 3, 64)
	if claim := worker.Reserve(5); claim.Slots != 0 {
		t.Fatalf("a worker not running reserved %d slots", claim.Slots)
	}
	stop := runWorker(t, worker)
	claim := reserveOnceRunning(t, worker, 5)
	if claim.Slots != 3 || claim.Owner != "handoff-test" || !claim.LeaseUntil.After(claim.Now) {
		t.Fatalf("Reserve(5) with 3 slots = %+v", claim)
	}
	if more := worker.Reserve(1); more.Slots != 0 {
		t.Fatalf("reserved %d slots beyond the free ones", more.Slots)
	}
	worker.HandOver(claim, nil) // the batch did not commit: every slot comes back
	again := worker.Reserve(2)
	if again.Slots != 2 {
		t.Fatalf("after the slots came back Reserve(2) = %d", again.Slots)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("the worker stopped with a hand-over still reserved")
	case <-time.After(200 * time.Millisecond):
	}
	if late := worker.Reserve(1); late.Slots != 0 {
		t.Fatalf("a stopping worker reserved %d slots", late.Slots)
	}
	worker.HandOver(again, nil)
	<-stopped // the worker stops once its hand-overs ended
}

// Hand-overs hold at most a claim round's batch, which the rate limit
// sizes: a handed-over lead waits for the limit under its lease.
func TestWorker_HandsOverNoMoreThanABatchAtOnce(t *testing.T) {
	t.Parallel()
	worker := idleWorker(t, 16, 3)
	runWorker(t, worker)
	claim := reserveOnceRunning(t, worker, 2)
	if claim.Slots != 2 {
		t.Fatalf("Reserve(2) = %d", claim.Slots)
	}
	more := worker.Reserve(5)
	worker.HandOver(more, nil)
	if more.Slots != 1 {
		t.Fatalf("with 2 of a batch of 3 handed over, Reserve(5) = %d, want 1", more.Slots)
	}
	worker.HandOver(claim, nil)
	again := worker.Reserve(5)
	worker.HandOver(again, nil)
	if again.Slots != 3 {
		t.Fatalf("once all came back, Reserve(5) = %d, want 3", again.Slots)
	}
}

func TestNewWorker_NamesWhatIsMissingOrWrong(t *testing.T) {
	t.Parallel()
	_, err := delivery.NewWorker(app.Ports{}, delivery.Config{Lease: time.Second, TryTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("a worker without ports, owner or room in its lease was built")
	}
	for _, want := range []string{"Owner", "Lease", "DeliveryQueue", "Calltouch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// idleWorker is a worker whose queue never has a lead: its claim rounds
// find nothing, so only hand-overs take its slots.
func idleWorker(t *testing.T, parallel, batch int) *delivery.Worker {
	t.Helper()
	w, err := delivery.NewWorker(app.Ports{DeliveryQueue: emptyQueue{}, Policies: noPolicies{}, Calltouch: noCalltouch{}, SiteLimiter: noLimit{}},
		delivery.Config{Owner: "handoff-test", Retry: domain.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
			TryTimeout: 2 * time.Second, Lease: 10 * time.Second, Batch: batch, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runWorker runs the worker until the returned stop, which waits for it.
func runWorker(t *testing.T, w *delivery.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, make(chan struct{}), time.Hour) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// reserveOnceRunning reserves as soon as the worker's Run has started.
func reserveOnceRunning(t *testing.T, worker *delivery.Worker, n int) app.HandoffClaim {
	t.Helper()
	for {
		if claim := worker.Reserve(n); claim.Slots > 0 {
			return claim
		}
		time.Sleep(time.Millisecond)
	}
}
