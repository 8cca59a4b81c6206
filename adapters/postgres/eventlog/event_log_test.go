package eventlog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// logIDs is the log's event ids (call events only) in log order.
func logIDs(t *testing.T, s testkit.Store) []string {
	return testkit.Texts(t, s.DB, `SELECT uuid FROM ctj_log WHERE payload->>'type' LIKE 'call.%' ORDER BY transaction_id, "offset"`)
}

func TestAppend_StoresTheBatchAsLogRowsInBatchOrder(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	events := []domain.CallEvent{storetest.Answered("o-1", "w-1", 1), storetest.Ordered("o-1", "w-1"), storetest.Ordered("o-2", "w-2")}
	batch := storetest.Batch(t, events...)
	if _, err := s.Log.Append(context.Background(), batch); err != nil {
		t.Fatalf("append: %v", err)
	}
	want := []string{events[0].EventID, events[1].EventID, events[2].EventID}
	if got := logIDs(t, s); !slices.Equal(got, want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
	for _, e := range batch {
		if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_log WHERE uuid = $1 AND payload = $2::jsonb`, e.Event.EventID, string(e.Canonical)); n != 1 {
			t.Errorf("event %s: %d rows with its canonical payload, want 1", e.Event.EventID, n)
		}
	}
	if got := testkit.Texts(t, s.DB, `SELECT order_id || '=' || widget_id FROM ctj_order_widgets ORDER BY 1`); !slices.Equal(got, []string{"o-1=w-1", "o-2=w-2"}) {
		t.Fatalf("orders tied as %v", got)
	}
}

func TestAppend_RefusedBatchLeavesNoRow(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	stored := storetest.Ordered("o-1", "w-1")
	if _, err := s.Log.Append(ctx, storetest.Batch(t, stored)); err != nil {
		t.Fatalf("append: %v", err)
	}
	changed := stored
	changed.OccurredAt = changed.OccurredAt.Add(1)
	for name, batch := range map[string][]domain.CallEvent{
		"other content": {storetest.Ordered("o-2", "w-2"), storetest.Dialed("o-1", "w-1", 1), changed},
		"other widget":  {storetest.Ordered("o-3", "w-3"), storetest.Answered("o-1", "w-9", 1)},
	} {
		var conflict *app.ConflictError
		if _, err := s.Log.Append(ctx, storetest.Batch(t, batch...)); !errors.As(err, &conflict) {
			t.Fatalf("%s: got %v, want a conflict", name, err)
		}
	}
	if got := logIDs(t, s); !slices.Equal(got, []string{stored.EventID}) {
		t.Fatalf("log holds %v after refused batches, want only %s", got, stored.EventID)
	}
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_order_widgets`); n != 1 {
		t.Fatalf("%d orders tied after refused batches, want 1", n)
	}
}

// Several serve processes are several EventLogs on one database: their
// group commits race on the unique index, and still each event is stored
// once and every other writer is told it is a duplicate.
func TestAppend_ConcurrentProcessesStoreAnEventOnce(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	logs := []*eventlog.EventLog{s.Log, eventlog.NewEventLog(s.DB), eventlog.NewEventLog(s.DB)}
	for _, l := range logs[1:] {
		t.Cleanup(l.Close)
	}
	batch := storetest.Batch(t, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	const writers = 24
	results := make([]app.AppendResult, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = logs[i%len(logs)].Append(context.Background(), batch)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent appends: %v", err)
	}
	accepted := 0
	for _, r := range results {
		accepted += r.Accepted
	}
	if accepted != 2 {
		t.Fatalf("writers stored %d events, want 2", accepted)
	}
	for _, e := range batch {
		if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_log WHERE uuid = $1`, e.Event.EventID); n != 1 {
			t.Fatalf("event %s stored %d times", e.Event.EventID, n)
		}
	}
}

// An append inside the caller's transaction (pgdb.WithTx) commits or
// rolls back with it, and takes no other request's events along, however
// many requests arrive at once.
func TestAppend_InsideTheCallersTransaction(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	const rounds, inTx, plain = 5, 4, 8
	for round := range rounds {
		type txAppend struct {
			tx     *sql.Tx
			id     string
			commit bool
		}
		txs := make([]txAppend, inTx)
		for i := range txs {
			tx, err := s.DB.BeginTx(ctx, nil)
			if err != nil {
				t.Fatalf("begin: %v", err)
			}
			t.Cleanup(func() { tx.Rollback() })
			txs[i] = txAppend{tx: tx, commit: i%2 == 0}
		}
		var others []string
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range inTx + plain {
			e := storetest.Ordered(fmt.Sprintf("o-%d-%d", round, i), "w-1")
			batch := storetest.Batch(t, e)
			appendCtx := ctx
			if i < inTx {
				txs[i].id = e.EventID
				appendCtx = pgdb.WithTx(ctx, txs[i].tx)
			} else {
				others = append(others, e.EventID)
			}
			wg.Go(func() {
				<-start
				if _, err := s.Log.Append(appendCtx, batch); err != nil {
					t.Errorf("append %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		for _, a := range txs {
			end := a.tx.Rollback
			if a.commit {
				end = a.tx.Commit
			}
			if err := end(); err != nil {
				t.Fatalf("end tx: %v", err)
			}
		}
		stored := logIDs(t, s)
		for _, a := range txs {
			if slices.Contains(stored, a.id) != a.commit {
				t.Errorf("round %d: event appended in a transaction that committed=%v is in the log=%v", round, a.commit, !a.commit)
			}
		}
		for _, id := range others {
			if !slices.Contains(stored, id) {
				t.Errorf("round %d: event %s of a request of its own is missing", round, id)
			}
		}
	}
}

// unstorable is a call event whose canonical form holds U+0000, which
// the log's JSONB refuses; the domain refuses it before, so it is built
// here past wire.ParseEvent.
func unstorable(t *testing.T, orderID, widgetID string) []app.NewEvent {
	e := storetest.Ordered(orderID, widgetID)
	e.Order.FormName = "form\x00"
	return storetest.Batch(t, e)
}

// One request's value that the store cannot hold fails the group commit
// it shares with others; they are stored on their own and get their own
// answers, whether the group failed on its fast path or while judging.
func TestAppend_ARefusedValueChangesNoOtherCallOfItsGroup(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	ctx := context.Background()
	known := storetest.Ordered("o-known", "w-1")
	if _, err := s.Log.Append(ctx, storetest.Batch(t, known)); err != nil {
		t.Fatalf("append: %v", err)
	}
	fresh, later := storetest.Ordered("o-1", "w-1"), storetest.Ordered("o-2", "w-1")
	conflicting := storetest.Ordered("o-3", "w-1")
	conflicting.EventID = known.EventID
	for name, group := range map[string]struct {
		batches [][]app.NewEvent
		want    []app.AppendResult
	}{
		"all new": {
			[][]app.NewEvent{storetest.Batch(t, fresh), unstorable(t, "o-bad-1", "w-1"), storetest.Batch(t, storetest.Dialed("o-1", "w-1", 1))},
			[]app.AppendResult{{Accepted: 1}, {}, {Accepted: 1}},
		},
		"with a duplicate and a conflict": {
			[][]app.NewEvent{storetest.Batch(t, known, later), unstorable(t, "o-bad-2", "w-1"), storetest.Batch(t, conflicting)},
			[]app.AppendResult{{Accepted: 1, Duplicates: 1}, {}, {}},
		},
	} {
		results, errs := eventlog.AppendAsOneGroup(ctx, s.Log, group.batches...)
		if !errors.Is(errs[1], app.ErrInvalidData) {
			t.Errorf("%s: the call with U+0000 got %v, want app.ErrInvalidData", name, errs[1])
		}
		for i, want := range group.want {
			if i == 1 {
				continue
			}
			var conflict *app.ConflictError
			if i == 2 && name != "all new" {
				if !errors.As(errs[i], &conflict) {
					t.Errorf("%s: call %d got %v, want its conflict", name, i, errs[i])
				}
				continue
			}
			if errs[i] != nil || results[i] != want {
				t.Errorf("%s: call %d got %+v, %v; want %+v", name, i, results[i], errs[i], want)
			}
		}
	}
	want := []string{known.EventID, fresh.EventID, later.EventID}
	got := logIDs(t, s)
	if len(got) != 4 || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) || !slices.Contains(got, want[2]) {
		t.Errorf("log holds %v, want %v and the dialed event, nothing of the refused calls", got, want)
	}
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_order_widgets WHERE order_id LIKE 'o-bad-%'`); n != 0 {
		t.Errorf("%d refused orders tied to a widget, want 0", n)
	}
	// Alone, as inside a caller's transaction, it is refused the same way.
	if _, err := s.Log.Append(ctx, unstorable(t, "o-bad-3", "w-1")); !errors.Is(err, app.ErrInvalidData) {
		t.Errorf("a lone call with U+0000 got %v, want app.ErrInvalidData", err)
	}
}
