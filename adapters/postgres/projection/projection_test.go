package projection_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// callEventsInLogOrder is the log's call events, by position.
func callEventsInLogOrder(t *testing.T, s testkit.Store) []string {
	return testkit.Texts(t, s.DB, `SELECT l."offset"::text FROM ctj_log l WHERE l.payload->>'type' LIKE 'call.%' ORDER BY l.transaction_id, l."offset"`)
}

func wantFoldedInLogOrder(t *testing.T, s testkit.Store) {
	t.Helper()
	folded := testkit.Texts(t, s.DB, `SELECT position::text FROM ctj_order_events ORDER BY seq`)
	if logged := callEventsInLogOrder(t, s); !slices.Equal(folded, logged) {
		t.Fatalf("ctj_order_events holds positions\n%v\nthe log holds\n%v", folded, logged)
	}
}

func TestProjection_DecidesEachDecidingFactOnceAndQueuesEverySend(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-all", nil)
	testkit.SetValidPolicy(t, s, "w-ok", func(p *domain.Policy) { p.OnlySuccessful = true })
	tap := storetest.Ordered("o-tap", "w-all")
	tap.Order.Kind, tap.Order.ManagerPhone = domain.KindTap2Call, "74951234567"
	testkit.Ingest(t, s,
		storetest.Ordered("o-all", "w-all"), storetest.Failed("o-all", "w-all", 1), storetest.Answered("o-all", "w-all", 2),
		storetest.Ordered("o-ok", "w-ok"), storetest.Failed("o-ok", "w-ok", 1), storetest.Answered("o-ok", "w-ok", 2),
		storetest.Ordered("o-none", "w-none"), storetest.Answered("o-none", "w-none", 1),
		storetest.Answered("o-early", "w-all", 1),
		tap, storetest.Answered("o-tap", "w-all", 1))
	// A policy change reaches orders placed after it only; o-early's
	// call.ordered comes after it.
	testkit.SetValidPolicy(t, s, "w-all", func(p *domain.Policy) { p.OnlySuccessful = true })
	testkit.Ingest(t, s, storetest.Ordered("o-early", "w-all"), storetest.Ordered("o-new", "w-all"), storetest.Answered("o-new", "w-all", 1))
	testkit.Settle(t, s.DB)

	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' | ', order_id, attempt, decision, coalesce(key, '-'), status, coalesce(policy_version, 0), reason)
		FROM ctj_decisions ORDER BY order_id, attempt`)
	want := []string{
		"o-all | 1 | send | o-all~1 | pending | 1 | attempt 1 failed; every finished attempt is sent",
		"o-all | 2 | send | o-all~2 | pending | 1 | attempt 2 answered; every finished attempt is sent",
		"o-early | 1 | send | o-early | pending | 2 | attempt 1 answered; only successful calls are sent",
		"o-new | 1 | send | o-new | pending | 2 | attempt 1 answered; only successful calls are sent",
		"o-none | 1 | skip | - | skipped | 0 | widget w-none had no enabled Calltouch integration when the order was placed",
		"o-ok | 1 | skip | - | skipped | 1 | attempt 1 failed; only successful calls are sent",
		"o-ok | 2 | send | o-ok | pending | 1 | attempt 2 answered; only successful calls are sent",
		"o-tap | 1 | skip | - | skipped | 1 | tap-to-call integration is off",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("decisions:\n%s\nwant:\n%s", testkit.JoinLines(got), testkit.JoinLines(want))
	}
	queued := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', d.key, d.order_id, d.widget_id, d.status, d.payload->>'requestNumber',
			d.decided_at = c.decided_at, d.deadline_at = c.decided_at + interval '1 hour')
		FROM ctj_deliveries d JOIN ctj_decisions c ON c.key = d.key ORDER BY d.key`)
	wantQueued := []string{
		"o-all~1 o-all w-all pending o-all~1 t t",
		"o-all~2 o-all w-all pending o-all~2 t t",
		"o-early o-early w-all pending o-early t t",
		"o-new o-new w-all pending o-new t t",
		"o-ok o-ok w-ok pending o-ok t t",
	}
	if !slices.Equal(queued, wantQueued) || testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_deliveries`) != len(wantQueued) {
		t.Fatalf("queue rows:\n%s\nwant:\n%s", testkit.JoinLines(queued), testkit.JoinLines(wantQueued))
	}
	versions := testkit.Texts(t, s.DB, `SELECT order_id || ':' || coalesce(policy_version, 0) FROM ctj_orders ORDER BY order_id`)
	if want := []string{"o-all:1", "o-early:2", "o-new:2", "o-none:0", "o-ok:1", "o-tap:1"}; !slices.Equal(versions, want) {
		t.Fatalf("orders placed under %v, want %v", versions, want)
	}
	wantFoldedInLogOrder(t, s)
	testkit.WantNothingPoisoned(t, s)
}

// readModels is every projected row, as text, table by table.
func readModels(t *testing.T, s testkit.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range []string{"ctj_policy_versions", "ctj_orders", "ctj_order_events", "ctj_decisions", "ctj_delivery_tries", "ctj_deliveries"} {
		out[table] = testkit.Texts(t, s.DB, `SELECT r::text FROM `+table+` r ORDER BY 1`)
	}
	return out
}

func wantSameReadModels(t *testing.T, when string, before, after map[string][]string) {
	t.Helper()
	for table, rows := range before {
		if !slices.Equal(rows, after[table]) {
			t.Errorf("%s: %s changed from\n%s\nto\n%s", when, table, testkit.JoinLines(rows), testkit.JoinLines(after[table]))
		}
	}
}

// A second projection process (same consumer group) after the first
// stops goes on from the stored offset; one that lost its offset and
// replays the whole log changes nothing either.
func TestProjection_RerunAndReplayDuplicateNothing(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	stop := testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	answered := storetest.Answered("o-1", "w-1", 2)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Failed("o-1", "w-1", 1), answered)
	testkit.Ingest(t, s, storetest.Answered("o-2", "w-1", 1), storetest.Ordered("o-2", "w-1"))
	testkit.Settle(t, s.DB)
	now := time.Now().Add(time.Minute).Truncate(time.Second)
	leads, err := s.Deliveries.Claim(ctx, "worker-a", now, now.Add(time.Minute), 10)
	if err != nil || len(leads) != 3 {
		t.Fatalf("claim: %d leads, %v; want 3", len(leads), err)
	}
	for i, l := range leads {
		if err := s.Deliveries.RecordTry(ctx, "worker-a", testkit.Tried(l, []int{200, 503, 400}[i], now), now.Add(time.Second)); err != nil {
			t.Fatalf("record try: %v", err)
		}
	}
	if _, err := s.Deliveries.GiveUpExpired(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("give up: %v", err)
	}
	testkit.Settle(t, s.DB)
	stop()
	before := readModels(t, s)
	if n := len(before["ctj_delivery_tries"]); n != 4 {
		t.Fatalf("%d delivery history rows, want 4 (3 tries, 1 give-up)", n)
	}

	testkit.Ingest(t, s, answered) // a resend: a duplicate, no record
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.Settle(t, s.DB)
	wantSameReadModels(t, "rerun", before, readModels(t, s))

	// The same consumer group from the start of the log.
	if _, err := s.DB.Exec(`UPDATE ctj_log_offsets SET offset_acked = 0, last_processed_transaction_id = '0'`); err != nil {
		t.Fatalf("reset offset: %v", err)
	}
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.Settle(t, s.DB)
	wantSameReadModels(t, "replay", before, readModels(t, s))
	testkit.WantNothingPoisoned(t, s)
}

// Ingest transactions take their place in the log when they start writing
// but become visible when they commit; the projection must neither skip a
// transaction that commits after a later one, nor see one rolled back.
func TestProjection_SeesEveryCommittedEventOnceWhateverTheCommitOrder(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)

	type ingestTx struct {
		xid    int64
		events []string
		commit bool
		end    func() error
	}
	const txs, plain = 9, 6
	var (
		mu      sync.Mutex
		open    []ingestTx
		direct  []string
		wg      sync.WaitGroup
		started = make(chan struct{})
	)
	for i := range txs + plain {
		order := fmt.Sprintf("o-%02d", i)
		events := []domain.CallEvent{storetest.Ordered(order, "w-1"), storetest.Failed(order, "w-1", 1), storetest.Answered(order, "w-1", 2)}
		ids := []string{events[0].EventID, events[1].EventID, events[2].EventID}
		batch := storetest.Batch(t, events...)
		wg.Go(func() {
			<-started
			if i >= txs { // a request of its own, committed at once
				if _, err := s.Log.Append(ctx, batch); err != nil {
					t.Errorf("append: %v", err)
				}
				mu.Lock()
				direct = append(direct, ids...)
				mu.Unlock()
				return
			}
			tx, err := s.DB.BeginTx(ctx, nil)
			if err != nil {
				t.Errorf("begin: %v", err)
				return
			}
			if _, err := s.Log.Append(pgdb.WithTx(ctx, tx), batch); err != nil {
				t.Errorf("append in tx: %v", err)
				tx.Rollback()
				return
			}
			var xid int64
			if err := tx.QueryRow(`SELECT pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
				t.Errorf("xid: %v", err)
				tx.Rollback()
				return
			}
			it := ingestTx{xid: xid, events: ids, commit: i%3 != 0, end: tx.Rollback}
			if it.commit {
				it.end = tx.Commit
			}
			mu.Lock()
			open = append(open, it)
			mu.Unlock()
		})
	}
	close(started)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// End the transactions newest first, the projection polling meanwhile.
	slices.SortFunc(open, func(a, b ingestTx) int { return int(b.xid - a.xid) })
	committed := slices.Clone(direct)
	var rolledBack []string
	for _, it := range open {
		if err := it.end(); err != nil {
			t.Fatalf("end tx %d: %v", it.xid, err)
		}
		if it.commit {
			committed = append(committed, it.events...)
		} else {
			rolledBack = append(rolledBack, it.events...)
		}
		time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
	}
	testkit.Settle(t, s.DB)

	folded := testkit.Texts(t, s.DB, `SELECT event_id::text FROM ctj_order_events`)
	if !sameSet(folded, committed) || len(folded) != len(committed) {
		t.Fatalf("projection folded %d events, %d were committed (%d rolled back)", len(folded), len(committed), len(rolledBack))
	}
	for _, id := range rolledBack {
		if slices.Contains(folded, id) {
			t.Fatalf("rolled-back event %s was folded", id)
		}
	}
	if n, want := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_decisions`), 2*len(committed)/3; n != want {
		t.Fatalf("%d decisions, want %d (two per committed order)", n, want)
	}
	wantFoldedInLogOrder(t, s)
	testkit.WantNothingPoisoned(t, s)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// slowOutbox holds the first lead back for longer than the subscriber's
// ack deadline, in the middle of applying a record: after the decision is
// written, before its lead is queued.
type slowOutbox struct {
	app.Outbox
	once sync.Once
}

func (o *slowOutbox) Enqueue(ctx context.Context, lead app.Lead) error {
	o.once.Do(func() { time.Sleep(11 * time.Second) })
	return o.Outbox.Enqueue(ctx, lead)
}

// The subscriber stops waiting for a record after its ack deadline (10 s)
// and commits the rest of its batch; the record it gave up on must not
// commit half-applied, or its lead would never be queued: a replay finds
// the event folded and decides nothing again. It runs alone: its
// projection holds a transaction open for those 10 s, and so holds back
// every projection on the server, other tests' serves included (one's
// leads were given up while it waited).
func TestExclusive_RecordGivenUpMidwayIsNotCommittedHalfApplied(t *testing.T) {
	pgtest.Exclusive(t)
	s := testkit.NewStore(t)
	project := app.NewProjectRecord(projection.NewReadModel(s.DB), &slowOutbox{Outbox: projection.NewOutbox(s.DB, time.Hour)})
	testkit.StartRouter(t, s.DB, project)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	testkit.Settle(t, s.DB)
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', c.key, d.key IS NOT NULL) FROM ctj_decisions c LEFT JOIN ctj_deliveries d USING (key)`)
	if want := []string{"o-1~1 t"}; !slices.Equal(got, want) {
		t.Fatalf("send decisions and whether their lead is queued: %v, want %v", got, want)
	}
}

// The subscriber's offset update goes with the batch's writes in one round
// trip, and alone when the batch writes nothing (a record only the poison
// table takes): either way the offset moves on, and a rerun folds nothing
// again.
func TestProjection_OffsetMovesOnWithTheBatchOrAlone(t *testing.T) {
	t.Parallel()
	if !projection.SubscriberAckIsDeferred() {
		t.Fatal("the projection runs watermill-sql's offset update on its own: the subscriber words it otherwise now")
	}
	s := testkit.NewStore(t)
	stop := testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	testkit.Settle(t, s.DB)
	if _, err := s.DB.Exec(`INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
		VALUES (gen_random_uuid()::text, '{"type": "no.such.type"}', '{}', pg_current_xact_id())`); err != nil {
		t.Fatal(err)
	}
	testkit.Settle(t, s.DB)
	stop()
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_poison`); n != 1 {
		t.Fatalf("%d records in the poison table, want the one of no known type", n)
	}
	before := readModels(t, s)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.Ingest(t, s, storetest.Ordered("o-2", "w-1"))
	testkit.Settle(t, s.DB)
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_poison`); n != 1 {
		t.Fatalf("%d records in the poison table after a rerun, want 1", n)
	}
	if got := readModels(t, s)["ctj_order_events"]; len(got) != len(before["ctj_order_events"])+1 {
		t.Fatalf("%d event rows after a rerun and one more event, want %d", len(got), len(before["ctj_order_events"])+1)
	}
}
