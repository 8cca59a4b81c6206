package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// TestReadModelsDoc_QueriesRun runs every SQL query docs/read-models.md
// shows analysts against the embedded store, projected from a history with
// delivered, refused, skipped and conflicting facts, as the PostgreSQL
// store's test does: the documented queries are the same on both stores.
func TestReadModelsDoc_QueriesRun(t *testing.T) {
	t.Parallel()
	db := projectedHistory(t)
	// Every lead delivered but one refused, as the delivery worker logs them.
	if _, err := db.Exec(`INSERT INTO ctj_delivery_tries (seq, position, key, try, at, duration_ms, http_status, response, outcome)
		SELECT row_number() OVER (), -row_number() OVER (), key, 1, decided_at, 80,
			CASE WHEN key = (SELECT min(key) FROM ctj_decisions WHERE decision = 'send') THEN 400 ELSE 200 END, '{}',
			CASE WHEN key = (SELECT min(key) FROM ctj_decisions WHERE decision = 'send') THEN 'refused' ELSE 'delivered' END
		FROM ctj_decisions WHERE decision = 'send'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE ctj_decisions SET tries = 1,
			status = CASE WHEN key = (SELECT min(key) FROM ctj_decisions WHERE decision = 'send') THEN 'failed' ELSE 'delivered' END,
			delivered_at = CASE WHEN key = (SELECT min(key) FROM ctj_decisions WHERE decision = 'send') THEN NULL ELSE decided_at END
		WHERE decision = 'send'`); err != nil {
		t.Fatal(err)
	}
	storetest.RunDocumentedQueries(t, db)
}

// projectedHistory is an embedded store holding orders of three widgets
// (one sending every finished attempt, one only answered calls, one with
// no policy), folded by the projection; it returns the store's file.
func projectedHistory(t *testing.T) *sql.DB {
	t.Helper()
	s := newStore(t, time.Hour)
	ports := s.Ports()
	startProjection(t, s, ports)
	ctx := context.Background()
	onlySuccessful := storetest.ValidPolicy()
	onlySuccessful.OnlySuccessful = true
	for w, p := range map[string]domain.Policy{"plain": storetest.ValidPolicy(), "succ": onlySuccessful} {
		if _, err := ports.Policies.UpdatePolicy(ctx, w, func(*app.StoredPolicy) (domain.Policy, error) { return p, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []string{"plain", "succ", "none"} {
		noSession := storetest.Ordered(w+"-nosession", w)
		noSession.Order.SessionID = ""
		for _, events := range [][]domain.CallEvent{
			{storetest.Ordered(w+"-answered", w), storetest.Dialed(w+"-answered", w, 1), storetest.Answered(w+"-answered", w, 1)},
			{storetest.Ordered(w+"-second", w), storetest.Failed(w+"-second", w, 1), storetest.Dialed(w+"-second", w, 2), storetest.Answered(w+"-second", w, 2)},
			{noSession, storetest.Answered(w+"-nosession", w, 1)},
			// A failed report after the answer of the same attempt: a conflict note.
			{storetest.Ordered(w+"-conflict", w), storetest.Answered(w+"-conflict", w, 1), storetest.Failed(w+"-conflict", w, 1)},
			{storetest.Ordered(w+"-failed", w), storetest.Failed(w+"-failed", w, 1), storetest.LastAttempt(w+"-failed", w, 1)},
		} {
			if _, err := ports.EventLog.Append(ctx, storetest.Batch(t, events...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle(t, ports.Status)
	db, err := sql.Open("sqlite", "file:"+s.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
