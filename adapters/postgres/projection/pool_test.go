package projection_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

func openProjectionPool(t *testing.T, s testkit.Store) *sql.DB {
	t.Helper()
	pool, err := postgres.OpenProjectionPool(context.Background(), s.URL)
	if err != nil {
		t.Fatalf("open projection pool: %v", err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// The projection's own pool commits without waiting for the WAL flush;
// the engine's other sessions keep the server's default, so an event is
// on disk before its 202. The projection run on that pool, as serve runs
// it, decides and queues as on any other.
func TestOpenProjectionPool_OnlyTheProjectionsCommitsSkipTheFlush(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	pool := openProjectionPool(t, s)
	const settings = `SELECT concat_ws(' ', current_setting('synchronous_commit'), current_setting('application_name'), current_setting('TimeZone'))`
	if got, want := testkit.Texts(t, pool, settings), "off "+postgres.ProjectionApplicationName+" UTC"; !slices.Equal(got, []string{want}) {
		t.Fatalf("projection pool's session (synchronous_commit, application_name, TimeZone): %v, want [%s]", got, want)
	}
	if got := testkit.Texts(t, s.DB, `SELECT current_setting('synchronous_commit')`); !slices.Equal(got, []string{"on"}) {
		t.Fatalf("engine's synchronous_commit: %v, want [on]", got)
	}

	testkit.StartRouterWith(t, s.DB, app.NewProjectRecord(projection.NewReadModel(s.DB), projection.NewOutbox(s.DB, time.Hour)),
		projection.Config{Transactions: pool})
	testkit.SetValidPolicy(t, s, "w", nil)
	testkit.Ingest(t, s, storetest.Ordered("o", "w"), storetest.Answered("o", "w", 1))
	testkit.Settle(t, s.DB)
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', d.key, d.status, q.status) FROM ctj_decisions d JOIN ctj_deliveries q USING (key)`)
	if want := []string{"o~1 pending pending"}; !slices.Equal(got, want) {
		t.Fatalf("decisions with their queue rows: %v, want %v", got, want)
	}
	wantPolledOn(t, s, postgres.ProjectionApplicationName)
}

// wantPolledOn waits until a session named app has run a transaction of
// the projection: its poll, or the BEGIN and COMMIT around it. Nothing else
// runs a transaction there; the projection, idle, polls every 10 ms.
func wantPolledOn(t *testing.T, s testkit.Store, app string) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, "a session named "+app+" to run a projection transaction", func() bool {
		return testkit.Count(t, s.DB, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1
			AND (query IN ('BEGIN', 'COMMIT', 'ROLLBACK') OR query LIKE '%pg_snapshot_xmin(pg_current_snapshot())%')`, app) > 0
	})
}

// A lead the projection hands over reaches the worker only once the batch
// that queued it is on disk. The projection's commits do not wait for the
// WAL flush, and a decision that a crash of PostgreSQL could still take
// back would be made again, and its lead sent twice. pg_walinspect finds
// the commit record of each lead's batch (that of its decision's row: the
// batch wrote it, and nothing after; the wait for the flush rewrites the
// queue row); the WAL must have been flushed past it when the lead was
// handed over.
func TestOpenProjectionPool_LeadsAreHandedOverOnlyOnceOnDisk(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	if _, err := s.DB.Exec(`CREATE EXTENSION IF NOT EXISTS pg_walinspect`); err != nil {
		t.Fatalf("reading the WAL needs pg_walinspect (PostgreSQL 15 or later) and a superuser: %v", err)
	}
	keepWAL(t, s.URL)
	pool := openProjectionPool(t, s)
	start := testkit.Texts(t, s.DB, `SELECT pg_current_wal_insert_lsn()::text`)[0]
	handoff := &flushNotingHandoff{db: s.DB, flushedAt: map[string]string{}}
	testkit.StartRouterWith(t, s.DB, app.NewProjectRecord(projection.NewReadModel(s.DB), projection.NewOutbox(s.DB, time.Hour)),
		projection.Config{Transactions: pool, Handoff: handoff})
	testkit.SetValidPolicy(t, s, "w", nil)
	const leads = 20
	for i := range leads {
		order := fmt.Sprintf("o-%d", i)
		testkit.Ingest(t, s, storetest.Ordered(order, "w"), storetest.Answered(order, "w", 1))
	}
	testkit.Settle(t, s.DB)
	testkit.WaitFor(t, 30*time.Second, "every lead handed over", func() bool { return handoff.count() == leads })
	// A commit that wrote WAL flushes it: the WAL read below ends there.
	testkit.Texts(t, s.DB, `SELECT pg_logical_emit_message(true, 'ctjournal-test', '')::text`)

	keys, flushed := handoff.noted()
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', x.key, coalesce((w.end_lsn <= x.flushed::pg_lsn)::text, 'no commit record'))
		FROM unnest($2::text[], $3::text[]) AS x(key, flushed)
		JOIN ctj_decisions d ON d.key = x.key
		LEFT JOIN pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn()) w
			ON w.xid = d.xmin AND w.resource_manager = 'Transaction' AND w.record_type LIKE 'COMMIT%'
		ORDER BY 1`, start, pq.Array(keys), pq.Array(flushed))
	want := make([]string, leads)
	for i := range leads {
		want[i] = fmt.Sprintf("o-%d~1 true", i)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("handed-over leads whose commit was on disk (true) or not yet (false):\n%s\nwant:\n%s", testkit.JoinLines(got), testkit.JoinLines(want))
	}
}

// keepWAL keeps the server's WAL from now until the test ends, through a
// temporary replication slot on a session of its own: the writes of every
// other database on the server could otherwise have it recycled before
// the test reads it.
func keepWAL(t *testing.T, databaseURL string) {
	t.Helper()
	db, err := sql.Open("postgres", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	slot := fmt.Sprintf("ctj_test_wal_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_create_physical_replication_slot($1, true, true)`, slot); err != nil {
		t.Fatalf("a temporary replication slot to keep the WAL (needs a free max_replication_slots): %v", err)
	}
}

// flushNotingHandoff takes every lead the projection queues, and notes how
// far the WAL was on disk when each was handed over.
type flushNotingHandoff struct {
	db        *sql.DB
	mu        sync.Mutex
	flushedAt map[string]string
}

func (h *flushNotingHandoff) Reserve(n int) app.HandoffClaim {
	now := time.Now()
	return app.HandoffClaim{Owner: "flush-test", Now: now, LeaseUntil: now.Add(time.Hour), Slots: n}
}

func (h *flushNotingHandoff) HandOver(_ app.HandoffClaim, leads []app.ClaimedLead) {
	var lsn string
	if err := h.db.QueryRow(`SELECT pg_current_wal_flush_lsn()::text`).Scan(&lsn); err != nil {
		lsn = "0/0"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range leads {
		h.flushedAt[string(l.Key)] = lsn
	}
}

func (h *flushNotingHandoff) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.flushedAt)
}

func (h *flushNotingHandoff) noted() (keys, lsns []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, lsn := range h.flushedAt {
		keys, lsns = append(keys, k), append(lsns, lsn)
	}
	return keys, lsns
}

// The wait for the flush writes to the leads' queue rows: a rewrite that
// finds none writes nothing, flushes nothing, and is an error, so nothing
// is handed over on it.
func TestWaitForFlush_IsAnErrorWhenItFindsNoRowToWrite(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w", nil)
	testkit.Ingest(t, s, storetest.Ordered("o", "w"), storetest.Answered("o", "w", 1))
	testkit.Settle(t, s.DB)
	ctx := context.Background()
	if err := projection.WaitForFlush(ctx, s.DB, []string{"o~1", "gone"}); err != nil {
		t.Fatalf("a lead queued, one not: %v, want nil", err)
	}
	if err := projection.WaitForFlush(ctx, s.DB, []string{"gone"}); err == nil {
		t.Fatal("no lead queued: nil, want an error")
	}
}
