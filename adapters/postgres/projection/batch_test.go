package projection_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/quarantine"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

// flakyOutbox fails its first Enqueue, after the order's fold is already
// in the batch.
type flakyOutbox struct {
	app.Outbox
	failed atomic.Bool
}

func (o *flakyOutbox) Enqueue(ctx context.Context, lead app.Lead) error {
	if o.failed.CompareAndSwap(false, true) {
		return errors.New("outbox unavailable for a moment")
	}
	return o.Outbox.Enqueue(ctx, lead)
}

// A record that fails halfway is undone in the batch before it is tried
// again: otherwise the retry would find its event already folded, decide
// nothing, and the lead would never be queued.
func TestProjection_RecordFailingHalfwayIsUndoneBeforeItsRetry(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartRouter(t, s.DB, app.NewProjectRecord(projection.NewReadModel(s.DB), &flakyOutbox{Outbox: projection.NewOutbox(s.DB, time.Hour)}))
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1),
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1))
	testkit.Settle(t, s.DB)
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', c.key, d.key IS NOT NULL) FROM ctj_decisions c
		LEFT JOIN ctj_deliveries d USING (key) ORDER BY c.key`)
	if want := []string{"o-1~1 t", "o-2~1 t"}; !slices.Equal(got, want) {
		t.Fatalf("send decisions and whether their lead is queued: %v, want %v", got, want)
	}
	wantFoldedInLogOrder(t, s)
	testkit.WantNothingPoisoned(t, s)
}

// A batch whose write fails at the commit keeps nothing: it is rolled back
// whole and its records are applied again one by one, so the ones that
// cannot be written are set aside, never half-written, and the others go
// through. Set aside, they are applied once the fault is fixed and they
// are retried.
func TestProjection_BatchFailingAtCommitSetsItsFaultyRecordsAsideUntilRetried(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	// While ctj_test_block has a row, writing an order fails.
	if _, err := s.DB.Exec(`CREATE TABLE ctj_test_block (x int);
		INSERT INTO ctj_test_block VALUES (1);
		CREATE FUNCTION ctj_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM ctj_test_block) THEN
				RAISE EXCEPTION 'order writes blocked by the test';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER ctj_test_fail BEFORE INSERT ON ctj_orders FOR EACH ROW EXECUTE FUNCTION ctj_test_fail();`); err != nil {
		t.Fatalf("block order writes: %v", err)
	}
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	testkit.Settle(t, s.DB)
	for _, table := range []string{"ctj_orders", "ctj_order_events", "ctj_decisions"} {
		if n := testkit.Count(t, s.DB, `SELECT count(*) FROM `+table); n != 0 {
			t.Fatalf("%s has %d rows while orders cannot be written, want none", table, n)
		}
	}
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_policy_versions`); n != 1 {
		t.Fatalf("%d policy versions, want the one that could be written", n)
	}
	aside := testkit.Texts(t, s.DB, `SELECT concat_ws(' | ', order_id, error) FROM ctj_poison ORDER BY position`)
	if len(aside) != 2 || !strings.Contains(aside[0], "o-1 | ") || !strings.Contains(aside[0], "order writes blocked by the test") {
		t.Fatalf("set aside: %q, want o-1's two events with the write's error", aside)
	}

	if _, err := s.DB.Exec(`DELETE FROM ctj_test_block`); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	retry := app.NewRetryQuarantined(quarantine.NewQuarantine(s.DB),
		app.NewProjectRecord(projection.NewReadModel(s.DB), projection.NewOutbox(s.DB, time.Hour)))
	outcomes, err := retry.Handle(context.Background(), nil)
	if err != nil || len(outcomes) != 2 || !outcomes[0].Applied || !outcomes[1].Applied {
		t.Fatalf("retry: %+v, %v; want both applied", outcomes, err)
	}
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', c.key, d.key IS NOT NULL) FROM ctj_decisions c LEFT JOIN ctj_deliveries d USING (key)`)
	if want := []string{"o-1~1 t"}; !slices.Equal(got, want) {
		t.Fatalf("send decisions and whether their lead is queued: %v, want %v", got, want)
	}
	wantFoldedInLogOrder(t, s)
	testkit.WantNothingPoisoned(t, s)
}
