package postgres_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/app/storetest"
)

// Several serve processes may start at once on an empty database; each
// migrates, none fails, and each migration is applied once.
func TestMigrate_ConcurrentStartsOnAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.NewEmptyDatabase(t)
	ctx := context.Background()
	const processes = 4
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			db, err := postgres.Open(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = postgres.Migrate(ctx, db)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate a migrated database: %v", err)
	}
	got := testkit.Texts(t, db, `SELECT name FROM ctj_schema_migrations ORDER BY name`)
	want, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(want) == 0 {
		t.Fatalf("list the migration files: %v %v", want, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("migrations recorded: %v, want each once: %v", got, want)
	}
}

// A database from before migration 006 kept each event's fact in
// ctj_order_events; upgrading points every row at its log record instead,
// and orders explain as they did.
func TestMigrate_PointsEventRowsOfAnOlderSchemaAtTheirLogRecords(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	stop := testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w"), storetest.Failed("o-1", "w", 1), storetest.Answered("o-1", "w", 2),
		storetest.Ordered("o-2", "w"), storetest.Answered("o-2", "w", 1))
	testkit.Settle(t, s.DB)
	stop()
	ctx := context.Background()
	before, err := s.Queries.Explain(ctx, "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`ALTER TABLE ctj_order_events ADD COLUMN fact jsonb;
		UPDATE ctj_order_events e SET fact = l.payload FROM ctj_log l WHERE l."offset" = e.position;
		ALTER TABLE ctj_order_events ALTER COLUMN fact SET NOT NULL, DROP COLUMN transaction_id;
		DELETE FROM ctj_schema_migrations WHERE name = 'migrations/006_order_events_fact_in_log.sql'`); err != nil {
		t.Fatalf("go back to the schema before 006: %v", err)
	}
	if err := postgres.Migrate(ctx, s.DB); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_order_events e
		JOIN ctj_log l ON l.transaction_id = e.transaction_id AND l."offset" = e.position`); n != 5 {
		t.Fatalf("%d event rows point at their log records, want 5", n)
	}
	after, err := s.Queries.Explain(ctx, "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("after the upgrade o-1 explains as\n%+v\nbefore it\n%+v", after, before)
	}
}
