package rebuild_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// TestRebuild_HundredThousandEvents rebuilds a log of at least 100k records
// (CTJ_REBUILD_EVENTS sets another size), twice: from empty read models,
// then over the rebuilt ones, once with few orders in memory. Both must
// give the same rows. It logs the rate reached.
func TestRebuild_HundredThousandEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("volume test")
	}
	t.Parallel()
	want := 100_000
	if v, err := strconv.Atoi(os.Getenv("CTJ_REBUILD_EVENTS")); err == nil && v > 0 {
		want = v
	}
	db, _ := pgtest.NewDatabase(t)
	server := "http://127.0.0.1:1"
	testkit.SetPolicy(t, db, "plain", testkit.Policy(server, nil))
	testkit.SetPolicy(t, db, "succ", testkit.Policy(server, func(p *domain.Policy) { p.OnlySuccessful = true }))
	testkit.SetPolicy(t, db, "last", testkit.Policy(server, func(p *domain.Policy) { p.OnlyLastAttempt = true }))

	start := time.Now()
	events := appendVolume(t, db, want, []string{"plain", "succ", "last", "none"})
	if events < want {
		t.Fatalf("appended %d log records, want %d", events, want)
	}
	setProjectionAtEnd(t, db)
	t.Logf("appended %d log records in %s", events, time.Since(start).Round(time.Millisecond))

	first := testkit.Rebuild(t, db, rebuild.Config{})
	t.Logf("first rebuild: %d events in %s, %.0f events/s", first.Events, first.Duration.Round(time.Millisecond), first.Rate())
	if first.Events != int64(events) {
		t.Fatalf("rebuilt %d events, the log holds %d", first.Events, events)
	}
	digest := testkit.Digest(t, db)
	if testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`) == 0 {
		t.Fatal("no lead's tries were applied")
	}

	second := testkit.Rebuild(t, db, rebuild.Config{MaxOrders: 600})
	t.Logf("second rebuild, 600 orders in memory: %d events in %s, %.0f events/s", second.Events, second.Duration.Round(time.Millisecond), second.Rate())
	for table, d := range testkit.Digest(t, db) {
		if d != digest[table] {
			t.Fatalf("%s: %s after the second rebuild, %s after the first", table, d, digest[table])
		}
	}
}

// appendVolume appends about n log records: orders of the widgets, each
// order's events interleaved with those of the 200 orders around it, a
// policy change halfway, and a delivered try after every answered lead of
// "plain" that is sent at once. Call events go through EventLog.Append in
// batches of 1000, four appenders at a time (as concurrent ingest does);
// the tries are inserted as the delivery worker logs them, after their
// window's events.
func appendVolume(t testing.TB, db *sql.DB, n int, widgets []string) int {
	t.Helper()
	const window, appenders = 200, 4
	// Orders average 2.7 events (testkit.Events); a window of 200 is ~540 records.
	windows := n/520 + 2
	for half, changed := range []bool{false, true} {
		if changed {
			testkit.SetPolicy(t, db, "plain", testkit.Policy("http://127.0.0.1:1", func(p *domain.Policy) { p.OnlySuccessful = true }))
		}
		next := make(chan int)
		errs := make(chan error, appenders)
		var wg sync.WaitGroup
		for range appenders {
			wg.Go(func() {
				for w := range next {
					if err := appendWindow(db, w*window, window, widgets, changed); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for w := half * windows / 2; w < (half+1)*windows/2; w++ {
			select {
			case next <- w:
			case err := <-errs:
				t.Fatal(err)
			}
		}
		close(next)
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	return testkit.Count(t, db, `SELECT count(*) FROM ctj_log`)
}

// appendWindow appends the events of orders [first, first+size), round
// by round, then the tries of their leads.
func appendWindow(db *sql.DB, first, size int, widgets []string, changed bool) error {
	ctx := context.Background()
	log := eventlog.NewEventLog(db)
	var orders []testkit.Order
	var tries []string
	for orderNo := first; orderNo < first+size; orderNo++ {
		w := widgets[orderNo%len(widgets)]
		pattern := orderNo / len(widgets)
		id := fmt.Sprintf("vol-%07d", orderNo)
		orders = append(orders, testkit.Order{ID: id, Widget: w, Events: testkit.Events(id, w, pattern, testkit.T0.Add(time.Duration(orderNo)*time.Second))})
		if w == "plain" && pattern%10 == 1 {
			key := domain.LeadKey(id + "~1")
			if changed {
				key = domain.LeadKey(id)
			}
			try, err := json.Marshal(app.DeliveryTried{Type: app.TypeDeliveryTried, Key: key, OrderID: id, WidgetID: w, Try: 1,
				At: testkit.T0.Add(time.Duration(orderNo)*time.Second + 3*time.Minute), DurationMS: 80, HTTPStatus: 200,
				Response: `{"requestId":1}`, Outcome: domain.Delivered})
			if err != nil {
				return err
			}
			tries = append(tries, string(try))
		}
	}
	var batch []app.NewEvent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := log.Append(ctx, batch)
		batch = batch[:0]
		return err
	}
	for round := 0; ; round++ {
		more := false
		for _, o := range orders {
			if round >= len(o.Events) {
				continue
			}
			more = true
			canonical, err := wire.MarshalEvent(o.Events[round])
			if err != nil {
				return err
			}
			batch = append(batch, app.NewEvent{Event: o.Events[round], Canonical: canonical, Index: len(batch)})
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if !more {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if len(tries) == 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, `INSERT INTO ctj_log (uuid, payload, transaction_id)
		SELECT gen_random_uuid()::text, p, pg_current_xact_id() FROM unnest($1::jsonb[]) AS p`, pq.Array(tries))
	return err
}

// setProjectionAtEnd marks the whole log as folded by the projection, as
// if it had run: a rebuild then replays all of it.
func setProjectionAtEnd(t testing.TB, db *sql.DB) {
	t.Helper()
	// The rebuild reads only records older than every open transaction on
	// the server (other tests' too): wait until the last one is readable.
	testkit.WaitFor(t, 90*time.Second, "the last log record to be visible to readers", func() bool {
		return testkit.Count(t, db, `SELECT count(*) FROM ctj_log WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`) == 0
	})
	if _, err := db.Exec(`INSERT INTO ctj_log_offsets (consumer_group, offset_acked, last_processed_transaction_id)
		SELECT 'projection', "offset", transaction_id FROM ctj_log ORDER BY transaction_id DESC, "offset" DESC LIMIT 1
		ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked,
			last_processed_transaction_id = excluded.last_processed_transaction_id`); err != nil {
		t.Fatal(err)
	}
}
