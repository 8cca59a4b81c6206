package sqlitelog_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"ctjournal/adapters/sqlite/sqlitelog"
)

func TestOpen_SetsDurableWAL(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		var got string
		if err := db.QueryRow(`PRAGMA ` + pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s: got %s, want %s", pragma, got, want)
		}
	}
}

func TestOpen_TakesThePathAsItIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b?c=1#d.db")
	openStore(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the store's file is not at its path: %v", err)
	}
}

func TestOpenReader_ReadsBesideTheWriterAndRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	if _, err := sqlitelog.OpenReader(path); err == nil {
		t.Error("a reader opened a store that does not exist yet")
	}
	db := openStore(t, path)
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	reader, err := sqlitelog.OpenReader(path)
	if err != nil {
		t.Fatalf("open reader: %v", err)
	}
	defer reader.Close()

	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if n := count(t, reader); n != 0 {
		t.Errorf("reader during the writer's transaction: %d rows, want 0", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, reader); n != 1 {
		t.Errorf("reader after the commit: %d rows, want 1", n)
	}
	if _, err := reader.Exec(`INSERT INTO t VALUES (2)`); err == nil {
		t.Error("the reader wrote")
	}
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}
