package projection_test

import (
	"context"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/app/storetest"
)

// runWorker runs the worker until the returned stop, which waits for it.
func runWorker(t *testing.T, w *delivery.Worker, idle time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, make(chan struct{}), idle) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func startProjectionHandingOver(t *testing.T, s testkit.Store, to app.LeadHandoff) {
	t.Helper()
	testkit.StartRouterWith(t, s.DB, app.NewProjectRecord(projection.NewReadModel(s.DB), projection.NewOutbox(s.DB, time.Hour)), projection.Config{Handoff: to})
}

func TestProjection_HandsALeadStraightToTheRunningDeliveryWorker(t *testing.T) {
	t.Parallel()
	s, fake, worker, claims := testkit.LeadWidget(t)
	runWorker(t, worker, time.Hour)
	// Its first claim round, with nothing queued yet, is its last.
	testkit.WaitFor(t, 10*time.Second, "the worker's first claim round", func() bool { return claims.Rounds.Load() > 0 })
	startProjectionHandingOver(t, s, worker)

	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	if !fake.WaitFor(1, 30*time.Second) {
		t.Fatal("the lead never reached Calltouch: it was not handed over")
	}
	testkit.Settle(t, s.DB)
	testkit.WaitFor(t, 30*time.Second, "the try to be recorded", func() bool {
		return testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_deliveries WHERE status = 'delivered' AND claimed_by IS NULL AND tries = 1`) == 1
	})
	if n := fake.Count(); n != 1 {
		t.Fatalf("Calltouch got %d requests, want 1", n)
	}
	if rounds, claimed := claims.Rounds.Load(), claims.Claimed.Load(); rounds != 1 || claimed != 0 {
		t.Fatalf("%d claim rounds took %d leads, want the first round only, empty: the lead was not handed over", rounds, claimed)
	}
}

func TestProjection_QueuesLeadsUnclaimedWhenNoWorkerTakesThem(t *testing.T) {
	t.Parallel()
	s, fake, worker, claims := testkit.LeadWidget(t)
	startProjectionHandingOver(t, s, worker)

	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	testkit.Settle(t, s.DB)
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending' AND claimed_by IS NULL`); n != 1 {
		t.Fatalf("%d unclaimed pending leads, want 1", n)
	}
	// A claim round of the worker, once it runs, sends it.
	runWorker(t, worker, time.Hour)
	if !fake.WaitFor(1, 30*time.Second) {
		t.Fatal("the claim round did not send the queued lead")
	}
	if n := claims.Claimed.Load(); n != 1 {
		t.Fatalf("claim rounds took %d leads, want the one queued", n)
	}
}
