package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/postgres"
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
	s := newStore(t)
	startRouter(t, s.db, app.NewProjectRecord(postgres.NewReadModel(s.db), &flakyOutbox{Outbox: postgres.NewOutbox(s.db, time.Hour)}))
	setPolicy(t, s, "w-1", nil)
	ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1),
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1))
	settle(t, s.db)
	got := texts(t, s.db, `SELECT concat_ws(' ', c.key, d.key IS NOT NULL) FROM ctj_decisions c
		LEFT JOIN ctj_deliveries d USING (key) ORDER BY c.key`)
	if want := []string{"o-1~1 t", "o-2~1 t"}; !slices.Equal(got, want) {
		t.Fatalf("send decisions and whether their lead is queued: %v, want %v", got, want)
	}
	wantFoldedInLogOrder(t, s)
	wantNothingPoisoned(t, s)
}

// A batch whose write fails at the commit keeps nothing, its offset
// included, and is folded again, once, when writing works again.
func TestProjection_BatchFailingAtCommitKeepsNothingAndIsFoldedAgain(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	// While ctj_test_block has a row, writing an order fails; each failure
	// counts in a sequence, which no rollback undoes.
	if _, err := s.db.Exec(`CREATE TABLE ctj_test_block (x int);
		INSERT INTO ctj_test_block VALUES (1);
		CREATE SEQUENCE ctj_test_failures;
		CREATE FUNCTION ctj_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM ctj_test_block) THEN
				PERFORM nextval('ctj_test_failures');
				RAISE EXCEPTION 'order writes blocked by the test';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER ctj_test_fail BEFORE INSERT ON ctj_orders FOR EACH ROW EXECUTE FUNCTION ctj_test_fail();`); err != nil {
		t.Fatalf("block order writes: %v", err)
	}
	startProjection(t, s.db, time.Hour)
	setPolicy(t, s, "w-1", nil)
	ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	for deadline := time.Now().Add(time.Minute); count(t, s.db, `SELECT last_value FROM ctj_test_failures`) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the projection never tried to write the batch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, table := range []string{"ctj_order_events", "ctj_decisions"} {
		if n := count(t, s.db, `SELECT count(*) FROM `+table); n != 0 {
			t.Fatalf("%s has %d rows while the batch cannot be written, want none", table, n)
		}
	}
	if n := count(t, s.db, `SELECT count(*) FROM ctj_log_offsets
		WHERE offset_acked >= (SELECT min("offset") FROM ctj_log WHERE payload->>'type' LIKE 'call.%')`); n != 0 {
		t.Fatal("the projection's offset moved on while its batch cannot be written")
	}
	if _, err := s.db.Exec(`DELETE FROM ctj_test_block`); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	settle(t, s.db)
	got := texts(t, s.db, `SELECT concat_ws(' ', c.key, d.key IS NOT NULL) FROM ctj_decisions c LEFT JOIN ctj_deliveries d USING (key)`)
	if want := []string{"o-1~1 t"}; !slices.Equal(got, want) {
		t.Fatalf("send decisions and whether their lead is queued: %v, want %v", got, want)
	}
	wantFoldedInLogOrder(t, s)
	wantNothingPoisoned(t, s)
}
