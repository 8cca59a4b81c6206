package main

import (
	"bytes"
	"context"
	"database/sql"
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

	"ctjournal/adapters/postgres/pgtest"
)

// TestMain lets the test binary stand in for ctjbench as the HTTP floor's
// server: startFloor runs os.Executable() http-floor.
func TestMain(m *testing.M) {
	if floorChild() {
		os.Exit(serveFloor())
	}
	os.Exit(m.Run())
}

// baselineDatabase is a fresh database of the test's own (pgtest) with
// bench_raw in it, and its URL.
func baselineDatabase(t *testing.T) (*sql.DB, string) {
	t.Helper()
	databaseURL := pgtest.NewEmptyDatabase(t)
	db, err := sql.Open("postgres", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := (&database{db: db}).createBaselineTable(ctx); err != nil {
		t.Fatal(err)
	}
	return db, databaseURL
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
	db, _ := baselineDatabase(t)
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
	db, dbURL := baselineDatabase(t)
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
	// The name of a database of the test's own, with a suffix: none has it.
	u, err := url.Parse(pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path += "_gone"

	f, err := startFloor(context.Background(), u.String())

	if f != nil || err == nil || !strings.Contains(err.Error(), "connect to the database") {
		t.Errorf("startFloor = %v, %v; want no server and the child's error", f, err)
	}
}
