package queue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/app/delivery"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// A claimed lead is tried only while a whole try still fits in its lease.
// Behind a try that hangs until its timeout, the rest of a round's leads
// are released for a later round: sent after their lease lapsed, they
// could go out twice, since another process may claim them by then.
func TestDeliverLeads_ReleasesLeadsItsLeaseHasNoRoomLeftFor(t *testing.T) {
	t.Parallel()
	s, fake, _, _ := testkit.LeadWidget(t)
	fake.SetDefault(calltouchfake.Hang())
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1),
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1),
		storetest.Ordered("o-3", "w-1"), storetest.Answered("o-3", "w-1", 1))
	testkit.Settle(t, s.DB)

	// One slot, a 2 s timeout, a 3 s lease: the first try hangs for 2 s,
	// after which a second would end past the lease.
	worker := testkit.DeliveryWorker(t, s, s.Deliveries, delivery.Config{Owner: "lease-test", Retry: domain.RetryPolicy{Base: time.Hour, Max: time.Hour},
		Lease: 3 * time.Second, Batch: 3, Parallel: 1, TryTimeout: 2 * time.Second})
	claimed, err := worker.Handle(context.Background())
	if err != nil || claimed != 3 {
		t.Fatalf("round: %d claimed, %v; want 3, nil", claimed, err)
	}
	if n := fake.Count(); n != 1 {
		t.Fatalf("Calltouch got %d requests in the round, want 1: the other leads' lease had no room left for a try", n)
	}
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', tries, status, claimed_by IS NULL) FROM ctj_deliveries ORDER BY tries, key`)
	if want := []string{"0 pending t", "0 pending t", "1 pending t"}; !slices.Equal(got, want) {
		t.Fatalf("queue rows (tries, status, released): %v, want %v", got, want)
	}
}
