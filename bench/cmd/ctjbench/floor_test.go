package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
)

// TestMain lets the test binary stand in for ctjbench as the HTTP floor's
// server: startFloor runs os.Executable() http-floor.
func TestMain(m *testing.M) {
	if floorChild() {
		os.Exit(serveFloor())
	}
	os.Exit(m.Run())
}

// testDatabaseURL is a database on the PostgreSQL server for tests:
// CTJ_TEST_POSTGRES_URL, else the local server's database "test".
func testDatabaseURL() string {
	return envOr("CTJ_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// baselineSchema makes a schema of its own in the test database, with
// bench_raw in it, dropped when the test ends, and returns a pool and a
// URL whose connections use it.
func baselineSchema(t *testing.T) (*sql.DB, string) {
	t.Helper()
	raw := testDatabaseURL()
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := "ctjbench_floor_" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+pq.QuoteIdentifier(schema)); err != nil {
		t.Fatalf("PostgreSQL for tests is not reachable (set CTJ_TEST_POSTGRES_URL to another server): %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + pq.QuoteIdentifier(schema) + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := (&database{db: db}).createBaselineTable(ctx); err != nil {
		t.Fatal(err)
	}
	return db, u.String()
}

// postOne posts body to base's /v1/events and returns the status and answer.
func postOne(t *testing.T, base string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(answer)
}

func TestFloorHandler_InsertsTheBodyAsOneRow(t *testing.T) {
	db, _ := baselineSchema(t)
	srv := httptest.NewServer(floorHandler(db))
	defer srv.Close()
	e := newOrders("floor1", ingestWidget).stream(0, 1)[0]

	status, answer := postOne(t, srv.URL, e.envelope)

	if status != http.StatusAccepted || answer != `{"accepted":1,"duplicates":0}` {
		t.Fatalf("answer %d %s", status, answer)
	}
	var id, metadata string
	var same bool
	if err := db.QueryRow(`SELECT uuid, metadata::text, payload = $1::jsonb FROM bench_raw`, e.envelope).Scan(&id, &metadata, &same); err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(id); err != nil || !same || metadata != "{}" {
		t.Errorf("stored uuid %q (%v), payload the body: %v, metadata %s", id, err, same, metadata)
	}

	if status, answer := postOne(t, srv.URL, []byte("not JSON")); status != http.StatusInternalServerError {
		t.Errorf("a body PostgreSQL refuses: %d %s, want 500", status, answer)
	}
}

func TestStartFloor_ServesInAProcessOfItsOwnUntilStopped(t *testing.T) {
	db, dbURL := baselineSchema(t)
	f, err := startFloor(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pid := f.pid()

	status, answer := postOne(t, f.base, newOrders("floor2", ingestWidget).stream(0, 1)[0].envelope)
	f.stop()

	if status != http.StatusAccepted {
		t.Errorf("answer %d %s", status, answer)
	}
	if pid == os.Getpid() {
		t.Error("the floor's server runs in the test's own process")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM bench_raw`).Scan(&n); err != nil || n != 1 {
		t.Errorf("bench_raw holds %d rows (%v), want 1", n, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the floor's server (pid %d) is still there after stop: %v", pid, err)
	}
}

func TestStartFloor_SaysWhyTheServerDidNotStart(t *testing.T) {
	u, err := url.Parse(testDatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/ctjbench_no_such_database"

	f, err := startFloor(context.Background(), u.String())

	if f != nil || err == nil || !strings.Contains(err.Error(), "connect to the database") {
		t.Errorf("startFloor = %v, %v; want no server and the child's error", f, err)
	}
}
