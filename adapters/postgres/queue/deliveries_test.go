package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/app"
	"ctjournal/domain"
)

var dT0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// queueLead puts a lead for order ord in the outbox, decided at dT0.
func queueLead(t *testing.T, s testkit.Store, ord string) domain.LeadKey {
	t.Helper()
	key := domain.LeadKey(ord + "~1")
	err := projection.NewOutbox(s.DB, time.Hour).Enqueue(context.Background(), app.Lead{
		Key: key, OrderID: ord, WidgetID: "w-1", DecidedAt: dT0,
		Payload: domain.Payload{PhoneNumber: "79161234567", RequestNumber: string(key), Comment: "CallKeeper"},
	})
	if err != nil {
		t.Fatalf("enqueue %s: %v", key, err)
	}
	return key
}

func claimAt(t *testing.T, s testkit.Store, owner string, now time.Time) app.ClaimedLead {
	t.Helper()
	leads, err := s.Deliveries.Claim(context.Background(), owner, now, now.Add(time.Minute), 1)
	if err != nil || len(leads) != 1 {
		t.Fatalf("claim at %s: %d leads, %v; want 1", now, len(leads), err)
	}
	return leads[0]
}

// deliveryRow is the queue row of key, as text.
func deliveryRow(t *testing.T, s testkit.Store, key domain.LeadKey) string {
	t.Helper()
	rows := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', status, tries, to_char(next_attempt_at AT TIME ZONE 'UTC', 'HH24:MI:SS'),
			to_char(deadline_at AT TIME ZONE 'UTC', 'DD HH24:MI'), coalesce(claimed_by, '-'), coalesce(claimed_until::text, '-'),
			coalesce(to_char(delivered_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), '-'))
		FROM ctj_deliveries WHERE key = $1`, string(key))
	if len(rows) != 1 {
		t.Fatalf("lead %s has %d queue rows", key, len(rows))
	}
	return rows[0]
}

// leadRecords is what the log says about key, in log order.
func leadRecords(t *testing.T, s testkit.Store, key domain.LeadKey) []string {
	t.Helper()
	return testkit.Texts(t, s.DB, `SELECT concat_ws(' ', payload->>'type', payload->>'try', payload->>'http_status', payload->>'outcome')
		FROM ctj_log WHERE payload->>'key' = $1 ORDER BY transaction_id, "offset"`, string(key))
}

func wantRow(t *testing.T, s testkit.Store, key domain.LeadKey, want string) {
	t.Helper()
	if got := deliveryRow(t, s, key); got != want {
		t.Fatalf("queue row of %s:\n got %q\nwant %q", key, got, want)
	}
}

func wantRecords(t *testing.T, s testkit.Store, key domain.LeadKey, want ...string) {
	t.Helper()
	if got := leadRecords(t, s, key); !slices.Equal(got, want) {
		t.Fatalf("log records of %s:\n got %q\nwant %q", key, got, want)
	}
}

func TestRecordTry_MovesTheQueueRowAndLogsTheTry(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	key := queueLead(t, s, "o-1")
	wantRow(t, s, key, "pending 0 09:00:00 24 10:00 - - -")

	l := claimAt(t, s, "worker-a", dT0)
	wantRow(t, s, key, "pending 0 09:00:00 24 10:00 worker-a 2026-11-24 09:01:00+00 -")
	if err := s.Deliveries.RecordTry(ctx, "worker-a", testkit.Tried(l, 503, dT0.Add(time.Second)), dT0.Add(30*time.Second)); err != nil {
		t.Fatalf("record transient try: %v", err)
	}
	wantRow(t, s, key, "pending 1 09:00:30 24 10:00 - - -")

	l = claimAt(t, s, "worker-b", dT0.Add(30*time.Second))
	if err := s.Deliveries.RecordTry(ctx, "worker-b", testkit.Tried(l, 200, dT0.Add(31*time.Second)), dT0.Add(31*time.Second)); err != nil {
		t.Fatalf("record delivered try: %v", err)
	}
	wantRow(t, s, key, "delivered 2 09:00:31 24 10:00 - - 09:00:31")
	wantRecords(t, s, key, "delivery.tried 1 503 transient", "delivery.tried 2 200 delivered")

	refused := queueLead(t, s, "o-2")
	l = claimAt(t, s, "worker-a", dT0.Add(time.Minute))
	if err := s.Deliveries.RecordTry(ctx, "worker-a", testkit.Tried(l, 422, dT0.Add(time.Minute)), dT0.Add(time.Minute)); err != nil {
		t.Fatalf("record refused try: %v", err)
	}
	wantRow(t, s, refused, "failed 1 09:01:00 24 10:00 - - -")
	wantRecords(t, s, refused, "delivery.tried 1 422 refused")
}

func TestGiveUpExpired_FailsAndLogsEachLead(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	keys := []domain.LeadKey{queueLead(t, s, "o-1"), queueLead(t, s, "o-2")}
	n, err := s.Deliveries.GiveUpExpired(context.Background(), dT0.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("give up: %d, %v; want 2", n, err)
	}
	for _, key := range keys {
		wantRow(t, s, key, "failed 0 09:00:00 24 10:00 - - -")
		wantRecords(t, s, key, "lead.given_up")
	}
	reasons := testkit.Texts(t, s.DB, `SELECT payload->>'reason' FROM ctj_log WHERE payload->>'type' = 'lead.given_up'`)
	if len(reasons) != 2 || reasons[0] == "" {
		t.Fatalf("give-up reasons %q", reasons)
	}
}

func TestRedeliver_RequeuesWithANewDeadlineAndLogsTheRequest(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	key := queueLead(t, s, "o-1")
	var state *app.StateError
	if err := s.Deliveries.Redeliver(ctx, key, dT0, dT0.Add(time.Hour)); !errors.As(err, &state) {
		t.Fatalf("redeliver a pending lead: got %v, want *app.StateError", err)
	}
	if err := s.Deliveries.Redeliver(ctx, "o-none~1", dT0, dT0.Add(time.Hour)); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("redeliver an unknown lead: got %v, want app.ErrNotFound", err)
	}
	if _, err := s.Deliveries.GiveUpExpired(ctx, dT0.Add(2*time.Hour)); err != nil {
		t.Fatalf("give up: %v", err)
	}
	now := dT0.Add(3 * time.Hour)
	if err := s.Deliveries.Redeliver(ctx, key, now, now.Add(24*time.Hour)); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	wantRow(t, s, key, "pending 0 12:00:00 25 12:00 - - -")
	wantRecords(t, s, key, "lead.given_up", "lead.redelivery_requested")
}

func TestRelease_ClearsTheClaim(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	key := queueLead(t, s, "o-1")
	claimAt(t, s, "worker-a", dT0)
	if err := s.Deliveries.Release(context.Background(), "worker-a", key); err != nil {
		t.Fatalf("release: %v", err)
	}
	wantRow(t, s, key, "pending 0 09:00:00 24 10:00 - - -")
	wantRecords(t, s, key)
}

// Tries finishing together are recorded together (group commit), each
// exactly as alone; two tries of one lead (a lapsed claim and the next
// owner's) are both logged.
func TestRecordTry_ConcurrentTriesAreEachRecordedOnce(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	const n = 40
	for i := range n {
		queueLead(t, s, fmt.Sprintf("o-%02d", i))
	}
	leads, err := s.Deliveries.Claim(ctx, "worker-a", dT0, dT0.Add(time.Minute), n)
	if err != nil || len(leads) != n {
		t.Fatalf("claim: %d leads, %v; want %d", len(leads), err, n)
	}
	// The first lead is tried twice: by worker-a and, its claim having
	// lapsed, by worker-b.
	lapsed := leads[0]
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i, l := range leads {
		status := 200
		if i == 0 {
			status = 503
		}
		wg.Go(func() {
			errs <- s.Deliveries.RecordTry(ctx, "worker-a", testkit.Tried(l, status, dT0.Add(time.Second)), dT0.Add(2*time.Second))
		})
	}
	wg.Go(func() {
		errs <- s.Deliveries.RecordTry(ctx, "worker-b", testkit.Tried(app.ClaimedLead{Lead: lapsed.Lead, Tries: 1}, 200, dT0.Add(time.Second)), dT0.Add(time.Second))
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("record try: %v", err)
		}
	}
	for _, l := range leads[1:] {
		wantRow(t, s, l.Key, "delivered 1 09:00:02 24 10:00 - - 09:00:01")
		wantRecords(t, s, l.Key, "delivery.tried 1 200 delivered")
	}
	// Whichever is recorded first, the lead ends delivered (a transient try
	// recorded after the delivery moves nothing).
	if got := deliveryRow(t, s, lapsed.Key); !strings.HasPrefix(got, "delivered ") {
		t.Fatalf("queue row of the lead tried twice: %q, want delivered", got)
	}
	if got := leadRecords(t, s, lapsed.Key); len(got) != 2 {
		t.Fatalf("log records of the lead tried twice: %q, want 2", got)
	}
}

// A try recorded again (its first commit succeeded but the answer was
// lost, so the worker retried) is recorded once: one log record, one try
// counted. A new try recorded alongside it, possibly in the same group
// commit, is recorded as usual.
func TestRecordTry_RecordingATryAgainRecordsItOnce(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	again := queueLead(t, s, "o-1")
	fresh := queueLead(t, s, "o-2")
	leads, err := s.Deliveries.Claim(ctx, "worker-a", dT0, dT0.Add(time.Minute), 2)
	if err != nil || len(leads) != 2 {
		t.Fatalf("claim: %d leads, %v; want 2", len(leads), err)
	}
	byKey := map[domain.LeadKey]app.ClaimedLead{leads[0].Key: leads[0], leads[1].Key: leads[1]}
	first := testkit.Tried(byKey[again], 503, dT0.Add(time.Second))
	if err := s.Deliveries.RecordTry(ctx, "worker-a", first, dT0.Add(30*time.Second)); err != nil {
		t.Fatalf("record the try: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- s.Deliveries.RecordTry(ctx, "worker-a", first, dT0.Add(30*time.Second)) })
	wg.Go(func() {
		errs <- s.Deliveries.RecordTry(ctx, "worker-a", testkit.Tried(byKey[fresh], 200, dT0.Add(time.Second)), dT0.Add(time.Second))
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("record again: %v", err)
		}
	}
	wantRow(t, s, again, "pending 1 09:00:30 24 10:00 - - -")
	wantRecords(t, s, again, "delivery.tried 1 503 transient")
	wantRow(t, s, fresh, "delivered 1 09:00:01 24 10:00 - - 09:00:01")
	wantRecords(t, s, fresh, "delivery.tried 1 200 delivered")
}

func TestTryRecordID_IsTheSameForTheSameTryAndInTimeOrder(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	try := app.DeliveryTried{Key: "o-1~1", Try: 1, At: at}
	id := queue.TryRecordID("w-1", try)
	if again := queue.TryRecordID("w-1", try); again != id {
		t.Fatalf("the same try got ids %s and %s", id, again)
	}
	parsed, err := uuid.Parse(id)
	if err != nil || parsed.Version() != 8 || parsed.Variant() != uuid.RFC4122 {
		t.Fatalf("id %s: version %d, variant %v, err %v", id, parsed.Version(), parsed.Variant(), err)
	}
	others := []app.DeliveryTried{{Key: "o-1~1", Try: 2, At: at}, {Key: "o-2~1", Try: 1, At: at}}
	for _, o := range others {
		if other := queue.TryRecordID("w-1", o); other == id {
			t.Errorf("try %+v got the id of %+v", o, try)
		}
	}
	if other := queue.TryRecordID("w-2", try); other == id {
		t.Error("two owners' tries got one id")
	}
	later := try
	later.At = at.Add(time.Millisecond)
	if next := queue.TryRecordID("w-1", later); next <= id {
		t.Errorf("a try a millisecond later got id %s, not after %s", next, id)
	}
}
