package postgres_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/adapters/postgres"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// handoffWorker is a delivery worker on queue whose claim rounds never
// come after the first: no wake-up reaches it and its idle wait is an
// hour. A lead it delivers was handed to it by the projection.
func handoffWorker(t *testing.T, s store, queue app.DeliveryQueue, parallel, batch int) app.DeliverLeads {
	t.Helper()
	return deliveryWorker(s, queue, app.DeliveryConfig{Owner: "handoff-test", Retry: domain.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		GiveUpAfter: time.Hour, Lease: 10 * time.Second, Batch: batch, Parallel: parallel})
}

// deliveryWorker is a delivery worker on s's policies and queue under
// cfg: Calltouch requests time out after 2 s, the tests' hosts allowed, no
// rate limit, no jitter, nothing logged.
func deliveryWorker(s store, queue app.DeliveryQueue, cfg app.DeliveryConfig) app.DeliverLeads {
	cfg.AllowedHosts = storetest.AllowedHosts()
	return app.NewDeliverLeads(queue, s.policies, calltouch.New(2*time.Second, "test"),
		postgres.NewSiteRate(s.db, 0), time.Now, func() float64 { return 0 }, cfg,
		slog.New(slog.DiscardHandler), func(app.DeliveryTried) {})
}

// countedClaims is a delivery queue that counts the claim rounds run on
// it and the leads they took: which tells a lead handed over from one
// that a claim round found.
type countedClaims struct {
	app.DeliveryQueue
	rounds, claimed atomic.Int64
}

func (q *countedClaims) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]app.ClaimedLead, error) {
	leads, err := q.DeliveryQueue.Claim(ctx, owner, now, leaseUntil, limit)
	q.claimed.Add(int64(len(leads)))
	q.rounds.Add(1)
	return leads, err
}

// runWorker runs the worker until the returned stop, which waits for it.
func runWorker(t *testing.T, w app.DeliverLeads, idle time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, make(chan struct{}), idle) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func startProjectionHandingOver(t *testing.T, s store, to app.LeadHandoff) {
	t.Helper()
	startRouterWith(t, s.db, app.NewProjectRecord(postgres.NewReadModel(s.db), postgres.NewOutbox(s.db, time.Hour)), postgres.ProjectionConfig{Handoff: to})
}

// leadWidget is a store whose widget w-1 sends its leads to a fake
// Calltouch, and a worker for it, not running yet, whose claim rounds
// are counted.
func leadWidget(t *testing.T) (store, *calltouchfake.Server, app.DeliverLeads, *countedClaims) {
	t.Helper()
	s := newStore(t)
	fake := calltouchfake.New()
	t.Cleanup(fake.Close)
	rbSetPolicy(t, s.db, "w-1", rbPolicy(fake.URL(), nil))
	claims := &countedClaims{DeliveryQueue: s.deliveries}
	return s, fake, handoffWorker(t, s, claims, 4, 64), claims
}

func TestProjection_HandsALeadStraightToTheRunningDeliveryWorker(t *testing.T) {
	t.Parallel()
	s, fake, worker, claims := leadWidget(t)
	runWorker(t, worker, time.Hour)
	// Its first claim round, with nothing queued yet, is its last.
	rbWaitFor(t, 10*time.Second, "the worker's first claim round", func() bool { return claims.rounds.Load() > 0 })
	startProjectionHandingOver(t, s, worker)

	ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	if !fake.WaitFor(1, 30*time.Second) {
		t.Fatal("the lead never reached Calltouch: it was not handed over")
	}
	settle(t, s.db)
	rbWaitFor(t, 30*time.Second, "the try to be recorded", func() bool {
		return count(t, s.db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'delivered' AND claimed_by IS NULL AND tries = 1`) == 1
	})
	if n := fake.Count(); n != 1 {
		t.Fatalf("Calltouch got %d requests, want 1", n)
	}
	if rounds, claimed := claims.rounds.Load(), claims.claimed.Load(); rounds != 1 || claimed != 0 {
		t.Fatalf("%d claim rounds took %d leads, want the first round only, empty: the lead was not handed over", rounds, claimed)
	}
}

func TestProjection_QueuesLeadsUnclaimedWhenNoWorkerTakesThem(t *testing.T) {
	t.Parallel()
	s, fake, worker, claims := leadWidget(t)
	startProjectionHandingOver(t, s, worker)

	ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	settle(t, s.db)
	if n := count(t, s.db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending' AND claimed_by IS NULL`); n != 1 {
		t.Fatalf("%d unclaimed pending leads, want 1", n)
	}
	// A claim round of the worker, once it runs, sends it.
	runWorker(t, worker, time.Hour)
	if !fake.WaitFor(1, 30*time.Second) {
		t.Fatal("the claim round did not send the queued lead")
	}
	if n := claims.claimed.Load(); n != 1 {
		t.Fatalf("claim rounds took %d leads, want the one queued", n)
	}
}

func TestDeliverLeads_ReservesOnlyFreeSlotsWhileRunning(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	worker := handoffWorker(t, s, s.deliveries, 3, 64)
	if _, n := worker.Reserve(5); n != 0 {
		t.Fatalf("a worker not running reserved %d slots", n)
	}
	stop := runWorker(t, worker, time.Hour)
	claim, n := reserveOnceRunning(t, worker, 5)
	if n != 3 || claim.Owner != "handoff-test" || !claim.LeaseUntil.After(claim.Now) {
		t.Fatalf("Reserve(5) with 3 slots = %d, %+v", n, claim)
	}
	if _, more := worker.Reserve(1); more != 0 {
		t.Fatalf("reserved %d slots beyond the free ones", more)
	}
	worker.HandOver(claim, nil) // the batch did not commit: every slot comes back
	again, n := worker.Reserve(2)
	if n != 2 {
		t.Fatalf("after the slots came back Reserve(2) = %d", n)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("the worker stopped with a hand-over still reserved")
	case <-time.After(200 * time.Millisecond):
	}
	if _, n := worker.Reserve(1); n != 0 {
		t.Fatalf("a stopping worker reserved %d slots", n)
	}
	worker.HandOver(again, nil)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop once its hand-overs ended")
	}
}

// reserveOnceRunning reserves as soon as the worker's Run has started.
func reserveOnceRunning(t *testing.T, worker app.DeliverLeads, n int) (claim app.HandoffClaim, got int) {
	t.Helper()
	rbWaitFor(t, 10*time.Second, "the worker to run", func() bool {
		claim, got = worker.Reserve(n)
		return got > 0
	})
	return claim, got
}

// Hand-overs hold at most a claim round's batch, which the rate limit
// sizes: a handed-over lead waits for the limit under its lease.
func TestDeliverLeads_HandsOverNoMoreThanABatchAtOnce(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	worker := handoffWorker(t, s, s.deliveries, 16, 3)
	runWorker(t, worker, time.Hour)
	claim, n := reserveOnceRunning(t, worker, 2)
	if n != 2 {
		t.Fatalf("Reserve(2) = %d", n)
	}
	more, m := worker.Reserve(5)
	worker.HandOver(more, nil)
	if m != 1 {
		t.Fatalf("with 2 of a batch of 3 handed over, Reserve(5) = %d, want 1", m)
	}
	worker.HandOver(claim, nil)
	again, m := worker.Reserve(5)
	worker.HandOver(again, nil)
	if m != 3 {
		t.Fatalf("once all came back, Reserve(5) = %d, want 3", m)
	}
}
