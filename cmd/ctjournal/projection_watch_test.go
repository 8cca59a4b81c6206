package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
)

// A slow count (a long backlog) spaces the checks out, so that counting
// never takes more than a twentieth of the time.
func TestNextCheck_SpacesSlowCountsOut(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{2 * time.Millisecond, time.Second},
		{50 * time.Millisecond, time.Second},
		{500 * time.Millisecond, 10 * time.Second},
	} {
		if got := nextCheck(time.Second, c.took); got != c.want {
			t.Errorf("after a check of %s: next in %s, want %s", c.took, got, c.want)
		}
	}
}

// A stall is reported with a short reason that names nothing of the
// transaction holding the projection back, and logged with who holds it
// (pid, database, user, state, age), never with what it runs.
func TestProjectionWatch_StallNamesNothingOfTheBlockerButInTheLog(t *testing.T) {
	var logged bytes.Buffer
	health := projection.Health{ProjectionStatus: app.ProjectionStatus{BehindRecords: 7, HeldBackRecords: 7,
		HeldBackBy: &app.OpenTransaction{PID: 4242, Database: "billing", User: "reports", State: "idle in transaction", AgeSeconds: 9}},
		Quarantined: 3}
	w := newProjectionWatch(func(context.Context) (projection.Health, error) { return health, nil },
		prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(&logged, nil)))
	t0 := time.Date(2026, 11, 24, 7, 15, 0, 0, time.UTC)
	w.observe(context.Background(), t0)
	w.observe(context.Background(), t0.Add(6*time.Second))
	ready := readiness(func(context.Context) (int64, error) { return 3, nil }, w)
	n, err := ready(context.Background())
	want := "projection stalled: held back 6 s by a transaction open elsewhere on the database server"
	if n != 3 || err == nil || err.Error() != want {
		t.Fatalf("readiness: %d, %v; want 3 and %q", n, err, want)
	}
	for _, detail := range []string{`"blocker_pid":4242`, `"blocker_database":"billing"`, `"blocker_user":"reports"`} {
		if !strings.Contains(logged.String(), detail) {
			t.Errorf("the stall's log line lacks %s: %s", detail, logged.String())
		}
	}
	if _, err := readiness(func(context.Context) (int64, error) { return 0, errors.New("dial tcp 10.0.0.5:5432: refused") }, w)(context.Background()); err == nil || err.Error() != "store unreachable" {
		t.Fatalf("readiness with the store down: %v, want \"store unreachable\"", err)
	}
}
