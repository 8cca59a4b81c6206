package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"

	"github.com/lib/pq"
)

// directWriter appends call events to ctj_log in transactions of its own,
// as the engine's ingest does (canonical event JSON, the order tied to its
// widget, transaction_id = pg_current_xact_id(), a NOTIFY at commit), and
// commits or rolls them back when told, so the test controls the order in
// which transactions take their ids, insert and commit.
type directWriter struct {
	db     *sql.DB
	widget string

	mu         sync.Mutex
	committed  []string // event ids
	rolledBack []string
	orders     []*loadgen.GenOrder
	commits    []commitAt // for reporting how out of order commits came
}

type commitAt struct {
	xid uint64
	at  time.Time
}

// write runs one transaction: it takes its transaction id at once, waits
// beforeInsert, inserts the order's events one by one (pausing between
// them), holds the transaction open for hold, then commits or rolls back.
func (w *directWriter) write(ctx context.Context, order string, beforeInsert, hold time.Duration, commit bool) error {
	o, payloads := loadgen.CanonicalEvents(order, w.widget)
	ids := []string{o.Leads[order+"~1"][0], o.Leads[order+"~1"][1]}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var xid uint64
	if err := tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
		return err
	}
	time.Sleep(beforeInsert)
	if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_order_widgets (order_id, widget_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		order, w.widget); err != nil {
		return err
	}
	for i, p := range payloads {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
			VALUES ($1, $2, '{}', pg_current_xact_id())`, ids[i], p); err != nil {
			return err
		}
		time.Sleep(loadgen.RandBetween(0, 20*time.Millisecond))
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify('ctj_log', '')`); err != nil {
		return err
	}
	time.Sleep(hold)
	if !commit {
		if err := tx.Rollback(); err != nil {
			return err
		}
		w.mu.Lock()
		w.rolledBack = append(w.rolledBack, ids...)
		w.mu.Unlock()
		return nil
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.mu.Lock()
	w.committed = append(w.committed, ids...)
	w.orders = append(w.orders, o)
	w.commits = append(w.commits, commitAt{xid: xid, at: time.Now()})
	w.mu.Unlock()
	return nil
}

// lateCommits counts the transactions that committed after one with a
// higher transaction id: the commits out of order the projection must
// still fold in log order.
func (w *directWriter) lateCommits() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.commits {
		for _, b := range w.commits {
			if b.xid > a.xid && b.at.Before(a.at) {
				n++
				break
			}
		}
	}
	return n
}

// Promise 2 — no event skipped by the projection. Concurrent ingest
// transactions through HTTP, plus transactions of the test's own that
// append to ctj_log as ingest does, some held open for seconds, some
// rolled back, commit out of order. The projection folds every committed
// event exactly once, none of the rolled back, in log order:
// ctj_order_events' seq follows (transaction_id, offset).
func TestReliability_PostgresProjectionSkipsNothing(t *testing.T) {
	e := harness.Start(t)
	e.PutPolicy("rel-proj-w", harness.PolicyFor(e.Fake, nil))
	db := e.OpenDB(t)
	wdb, err := sql.Open("postgres", e.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer wdb.Close()
	wdb.SetMaxOpenConns(12)
	w := &directWriter{db: wdb, widget: "rel-proj-w"}

	g := loadgen.NewLoadGen("rel-proj", "rel-proj-w", e.Process)
	g.Pause = [2]time.Duration{20 * time.Millisecond, 60 * time.Millisecond}
	g.Retry = false // nothing disturbs serve: every request must get its 202 at once

	ctx := context.Background()
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	report := func(err error) {
		if err != nil {
			errMu.Lock()
			errs = append(errs, err)
			errMu.Unlock()
		}
	}
	// Long-running transactions: they take their ids first, so nearly
	// everything else commits after them with higher ids; held open 1–3 s
	// (short: an open transaction holds back every engine of the server).
	for i := range 6 {
		wg.Go(func() {
			report(w.write(ctx, fmt.Sprintf("rel-proj-held-%d", i), loadgen.RandBetween(0, 500*time.Millisecond),
				loadgen.RandBetween(time.Second, 3*time.Second), i%3 != 2))
		})
	}
	// Many short ones, one in four rolled back, interleaved with the rest.
	for c := range 4 {
		wg.Go(func() {
			for i := range 15 {
				report(w.write(ctx, fmt.Sprintf("rel-proj-quick-%d-%02d", c, i), loadgen.RandBetween(0, 50*time.Millisecond),
					loadgen.RandBetween(0, 100*time.Millisecond), rand.IntN(4) != 0))
			}
		})
	}
	stop := runLoad(g, 4, time.Minute)
	defer stop()
	wg.Wait()
	g.WaitAccepted(t, 4) // some load after the last direct transaction too
	stop()
	for _, err := range errs {
		t.Errorf("direct transaction: %v", err)
	}
	if g.Unexpected != nil || len(g.AckedIDs()) == 0 {
		t.Errorf("HTTP ingest: %s; unexpected answers %v", g.Summary(), g.Unexpected)
	}

	// The direct orders count as acknowledged once committed.
	g.Mu.Lock()
	httpEvents := len(g.Acked)
	for _, id := range w.committed {
		g.Acked[id] = true
	}
	g.Orders = append(g.Orders, w.orders...)
	g.Mu.Unlock()

	committed := len(g.AckedIDs())
	harness.WaitUntil(t, 60*time.Second, "the projection to fold every committed event", func() (bool, string) {
		n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_order_events`)
		return n >= committed, fmt.Sprintf("%d of %d folded", n, committed)
	})

	// Exactly the committed events, once each, none rolled back.
	projected := map[string]int{}
	rows, err := db.Query(`SELECT event_id::text FROM ctj_order_events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		projected[id]++
	}
	rows.Close()
	for _, id := range g.AckedIDs() {
		if projected[id] != 1 {
			t.Errorf("committed event %s folded %d times, want once", id, projected[id])
		}
	}
	if len(projected) != committed {
		t.Errorf("the projection folded %d distinct events, %d were committed", len(projected), committed)
	}
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(w.rolledBack)); n != 0 {
		t.Errorf("%d rolled back events are in the log", n)
	}
	for _, id := range w.rolledBack {
		if projected[id] != 0 {
			t.Errorf("rolled back event %s was folded", id)
		}
	}
	// In log order: seq, the order of folding, follows (transaction_id, offset).
	const logOrder = `SELECT e.seq, l.transaction_id AS tx, l."offset" AS off,
			lag(l.transaction_id) OVER w AS ptx, lag(l."offset") OVER w AS poff
		FROM ctj_order_events e JOIN ctj_log l ON l.uuid = e.event_id::text AND l."offset" = e.position
		WINDOW w AS (ORDER BY e.seq)`
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM (`+logOrder+`) s`); n != committed {
		t.Errorf("%d folded events match their log record (uuid and position), want %d", n, committed)
	}
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM (`+logOrder+`) s WHERE ptx IS NOT NULL AND (tx, off) <= (ptx, poff)`); n != 0 {
		t.Errorf("%d events were folded out of log order (transaction_id, offset)", n)
	}
	// How far the log order is from the offsets' order: records with a
	// lower offset than the record before them in log order.
	reordered := harness.QueryInt(t, db, `SELECT count(*) FROM (SELECT "offset" < lag("offset") OVER (ORDER BY transaction_id, "offset") AS back
		FROM ctj_log WHERE payload->>'type' LIKE 'call.%') s WHERE back`)
	if reordered == 0 {
		t.Errorf("no record's log order differs from its offset order: the test did not make commits out of order")
	}

	r := loadgen.CheckDelivered(t, db, g, e.Fake, nil, 60*time.Second)
	late := w.lateCommits()
	w.mu.Lock()
	t.Logf("events committed %d (HTTP %d, direct %d in %d transactions, %d committed after one with a higher transaction id), "+
		"rolled back %d; projected %d, each once, in log order; %d records sit before a lower offset in log order",
		committed, httpEvents, len(w.committed), len(w.commits), late, len(w.rolledBack), len(projected), reordered)
	w.mu.Unlock()
	t.Logf("counts: %s", r)
}
