package postgres_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
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
	got := texts(t, db, `SELECT name FROM ctj_schema_migrations ORDER BY name`)
	want, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(want) == 0 {
		t.Fatalf("list the migration files: %v %v", want, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("migrations recorded: %v, want each once: %v", got, want)
	}
}
