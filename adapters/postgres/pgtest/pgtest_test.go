package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"ctjournal/adapters/postgres/pgtest"
)

func TestNewDatabase_IsMigratedAndDroppedAfterTheTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		db, url := pgtest.NewDatabase(t)
		name = url[strings.LastIndex(url, "/")+1:]
		if i := strings.Index(name, "?"); i >= 0 {
			name = name[:i]
		}
		if !strings.HasPrefix(name, "ctj_test_") {
			t.Fatalf("database %q, want ctj_test_<random>", name)
		}
		var tables int
		if err := db.QueryRowContext(context.Background(),
			`SELECT count(*) FROM information_schema.tables WHERE table_name IN ('ctj_log', 'ctj_decisions')`).Scan(&tables); err != nil || tables != 2 {
			t.Fatalf("schema has %d of the tables, %v; want migrated", tables, err)
		}
		// A connection left open does not keep the database alive.
		if _, err := db.Conn(context.Background()); err != nil {
			t.Fatalf("conn: %v", err)
		}
	})
	admin, _ := pgtest.NewDatabase(t)
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s exists after its test: %v, %v", name, exists, err)
	}
}
