// Package testkit is what the store's tests share: test databases with
// the adapters over them, the projection and delivery run in the test
// process, fixtures of orders and policies, and dumps of the read models.
package testkit

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/quarantine"
	"ctjournal/adapters/postgres/query"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

// Store is a test database of its own with the PostgreSQL adapters over it.
type Store struct {
	DB         *sql.DB
	URL        string
	Log        *eventlog.EventLog
	Policies   *eventlog.Policies
	Deliveries *queue.Deliveries
	Queries    *query.Queries
}

func NewStore(t *testing.T) Store {
	db, url := pgtest.NewDatabase(t)
	log := eventlog.NewEventLog(db)
	t.Cleanup(log.Close)
	return Store{DB: db, URL: url, Log: log, Policies: eventlog.NewPolicies(db),
		Deliveries: queue.NewDeliveries(db), Queries: query.NewQueries(db)}
}

// StartProjection runs the projection router in the test process, as
// serve does, until stop or the end of the test.
func StartProjection(t *testing.T, db *sql.DB, giveUpAfter time.Duration) (stop func()) {
	t.Helper()
	return StartRouter(t, db, app.NewProjectRecord(projection.NewReadModel(db), projection.NewOutbox(db, giveUpAfter)))
}

// StartRouter runs project under the projection router.
func StartRouter(t *testing.T, db *sql.DB, project app.ProjectRecord) (stop func()) {
	t.Helper()
	return StartRouterWith(t, db, project, projection.Config{})
}

// StartRouterWith runs project under the projection router configured by
// cfg (its handoff and transactions' pool), in batches of 50 polled every
// 10 ms.
func StartRouterWith(t *testing.T, db *sql.DB, project app.ProjectRecord, cfg projection.Config) (stop func()) {
	t.Helper()
	cfg.Batch, cfg.PollInterval = 50, 10*time.Millisecond
	router, err := projection.NewRouter(db, project, cfg, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("projection router: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case err := <-done:
		cancel()
		t.Fatalf("projection router stopped at once: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("projection router did not start")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		// As serve does: stop the context first, so the batch in flight is
		// rolled back with its transaction, then close.
		cancel()
		if err := router.Close(); err != nil {
			t.Errorf("close projection router: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("projection router: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// Settle waits until the projection's stored offset is past every
// committed log record.
func Settle(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var caughtUp bool
		err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM ctj_log_offsets WHERE consumer_group = $1)
			AND NOT EXISTS (SELECT 1 FROM ctj_log l, ctj_log_offsets o WHERE o.consumer_group = $1
				AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked))`,
			pgdb.ProjectionConsumerGroup).Scan(&caughtUp)
		if err != nil {
			t.Fatalf("projection progress: %v", err)
		}
		if caughtUp {
			return
		}
		if time.Now().After(deadline) {
			// The projection reads only below the oldest transaction still
			// open anywhere on the server: name the likely culprits.
			open := Texts(t, db, `SELECT concat_ws(' ', datname, pid, now() - xact_start, left(query, 80))
				FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 5`)
			t.Fatalf("projection did not catch up with the log in 60s; oldest open transactions on the server:\n%s", JoinLines(open))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// NewEngine is the whole PostgreSQL store with its projection running.
func NewEngine(t *testing.T, giveUpAfter time.Duration) storetest.Engine {
	s := NewStore(t)
	StartProjection(t, s.DB, giveUpAfter)
	return storetest.Engine{
		Log: s.Log, Policies: s.Policies, Queue: s.Deliveries, Queries: s.Queries,
		Quarantine: quarantine.NewQuarantine(s.DB),
		Settle:     func(t *testing.T) { Settle(t, s.DB) },

		PolicyVersions: query.NewPolicyVersions(s.DB),
		LeadsPerDay:    query.NewWidgetSummaries(s.DB),
	}
}

// Count runs a query that returns one number.
func Count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Texts runs a query that returns one text column.
func Texts(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	out, err := pgdb.QueryTexts(context.Background(), db, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// JoinLines lists lines for a failure message, one a line.
func JoinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}
