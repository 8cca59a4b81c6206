package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

// store is a test database of its own with the PostgreSQL adapters over it.
type store struct {
	db         *sql.DB
	url        string
	log        *postgres.EventLog
	policies   *postgres.Policies
	deliveries *postgres.Deliveries
	queries    *postgres.Queries
}

func newStore(t *testing.T) store {
	db, url := pgtest.NewDatabase(t)
	log := postgres.NewEventLog(db)
	t.Cleanup(log.Close)
	return store{db: db, url: url, log: log, policies: postgres.NewPolicies(db),
		deliveries: postgres.NewDeliveries(db), queries: postgres.NewQueries(db)}
}

// startProjection runs the projection router in the test process, as
// serve does, until stop or the end of the test.
func startProjection(t *testing.T, db *sql.DB, giveUpAfter time.Duration) (stop func()) {
	t.Helper()
	return startRouter(t, db, app.NewProjectRecord(postgres.NewReadModel(db), postgres.NewOutbox(db, giveUpAfter)))
}

// startRouter runs project under the projection router.
func startRouter(t *testing.T, db *sql.DB, project app.ProjectRecord) (stop func()) {
	t.Helper()
	return startRouterWith(t, db, project, postgres.ProjectionConfig{})
}

// startRouterWith runs project under the projection router configured by
// cfg (its handoff and transactions' pool), in batches of 50 polled every
// 10 ms.
func startRouterWith(t *testing.T, db *sql.DB, project app.ProjectRecord, cfg postgres.ProjectionConfig) (stop func()) {
	t.Helper()
	cfg.Batch, cfg.PollInterval = 50, 10*time.Millisecond
	router, err := postgres.NewProjectionRouter(db, project, cfg, watermill.NopLogger{})
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

// settle waits until the projection's stored offset is past every
// committed log record.
func settle(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var caughtUp bool
		err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM ctj_log_offsets WHERE consumer_group = $1)
			AND NOT EXISTS (SELECT 1 FROM ctj_log l, ctj_log_offsets o WHERE o.consumer_group = $1
				AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked))`,
			postgres.ProjectionConsumerGroup).Scan(&caughtUp)
		if err != nil {
			t.Fatalf("projection progress: %v", err)
		}
		if caughtUp {
			return
		}
		if time.Now().After(deadline) {
			// The projection reads only below the oldest transaction still
			// open anywhere on the server: name the likely culprits.
			open := texts(t, db, `SELECT concat_ws(' ', datname, pid, now() - xact_start, left(query, 80))
				FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 5`)
			t.Fatalf("projection did not catch up with the log in 60s; oldest open transactions on the server:\n%s", joinLines(open))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newEngine is the whole PostgreSQL store with its projection running.
func newEngine(t *testing.T, giveUpAfter time.Duration) storetest.Engine {
	s := newStore(t)
	startProjection(t, s.db, giveUpAfter)
	return storetest.Engine{
		Log: s.log, Policies: s.policies, Queue: s.deliveries, Queries: s.queries,
		Quarantine: postgres.NewQuarantine(s.db),
		Settle:     func(t *testing.T) { settle(t, s.db) },
	}
}

// count runs a query that returns one number.
func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// texts runs a query that returns one text column.
func texts(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	out, err := postgres.QueryTexts(context.Background(), db, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}
