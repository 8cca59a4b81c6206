package query_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/query"
	"ctjournal/app"
	"ctjournal/domain"
)

func TestSimulate_OnlySuccessfulRemovesLeadsOfFailedAttempts(t *testing.T) {
	t.Parallel()
	db := testkit.ProjectedHistory(t)
	before, deliveries := testkit.Dump(t, db), testkit.QueueRows(t, db)

	policy := testkit.Policy("http://127.0.0.1:1", func(p *domain.Policy) { p.OnlySuccessful = true })
	r, err := app.NewSimulatePolicy(query.NewHistory(db)).Handle(context.Background(), app.HistoryFilter{WidgetID: "plain"}, policy)
	if err != nil {
		t.Fatal(err)
	}
	// Removed: exactly the leads sent for failed attempts.
	wantRemoved := testkit.Texts(t, db, `SELECT key FROM ctj_decisions WHERE widget_id = 'plain' AND decision = 'send'
		AND reason LIKE 'attempt % failed;%' ORDER BY key`)
	var removed []string
	for _, c := range r.Removed {
		if c.Before == nil || c.Before.Key == nil || c.After == nil || c.After.Decision != "skip" {
			t.Fatalf("removed lead %+v: want a recorded send now skipped", c)
		}
		removed = append(removed, *c.Before.Key)
	}
	slices.Sort(removed)
	if len(wantRemoved) == 0 || testkit.JoinLines(removed) != testkit.JoinLines(wantRemoved) {
		t.Fatalf("removed leads:\n%s\nwant:\n%s", testkit.JoinLines(removed), testkit.JoinLines(wantRemoved))
	}
	// Answered attempts keep their lead under the order's own key.
	for _, c := range r.Changed {
		if c.Before.Decision == "send" && (c.After.Decision != "send" || *c.After.Key != c.OrderID) {
			t.Fatalf("changed lead %+v %+v: want it sent as %s", c.Before, c.After, c.OrderID)
		}
	}
	if len(r.Added) != 0 {
		t.Fatalf("added %d leads, want none", len(r.Added))
	}
	wantAfter := testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE widget_id = 'plain' AND decision = 'send' AND reason LIKE '%answered%'`)
	if r.Totals.After.Leads != wantAfter || r.Totals.Removed != len(wantRemoved) {
		t.Fatalf("totals %+v: want %d leads after, %d removed", r.Totals, wantAfter, len(wantRemoved))
	}
	if r.Totals.Orders != testkit.Count(t, db, `SELECT count(*) FROM ctj_orders WHERE widget_id = 'plain'`) {
		t.Fatalf("simulated %d orders", r.Totals.Orders)
	}
	// Nothing written, nothing queued.
	testkit.SameDump(t, before, testkit.Dump(t, db))
	if testkit.JoinLines(testkit.QueueRows(t, db)) != testkit.JoinLines(deliveries) {
		t.Fatal("the simulation changed the delivery queue")
	}

	// The recorded policy changes nothing; a window counts only its orders.
	same, err := app.NewSimulatePolicy(query.NewHistory(db)).Handle(context.Background(), app.HistoryFilter{WidgetID: "succ"}, policy)
	if err != nil {
		t.Fatal(err)
	}
	if same.Totals.Added+same.Totals.Removed+same.Totals.Changed != 0 || same.Totals.Unchanged == 0 {
		t.Fatalf("the policy in force changed decisions: %+v", same.Totals)
	}
	since, until := testkit.T0.Add(2*time.Minute), testkit.T0.Add(5*time.Minute)
	window, err := app.NewSimulatePolicy(query.NewHistory(db)).Handle(context.Background(),
		app.HistoryFilter{WidgetID: "plain", Since: &since, Until: &until}, policy)
	if err != nil {
		t.Fatal(err)
	}
	if window.Totals.Orders != 3 {
		t.Fatalf("orders ordered in [+2m, +5m): %d, want 3", window.Totals.Orders)
	}
}

func TestExplainWidget_CountsByStatusAndSkipReason(t *testing.T) {
	t.Parallel()
	db := testkit.ProjectedHistory(t)
	explain := app.NewExplainWidget(query.NewWidgetSummaries(db))
	s, err := explain.Handle(context.Background(), app.WidgetFilter{WidgetID: "succ"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range app.LeadStatuses {
		if want := int64(testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE widget_id = 'succ' AND status = $1`, st)); s.ByStatus[st] != want {
			t.Fatalf("%s: %d, want %d", st, s.ByStatus[st], want)
		}
	}
	if s.ByStatus[app.StatusSkipped] == 0 || s.ByStatus[app.StatusPending] == 0 {
		t.Fatalf("the history should have pending and skipped decisions: %+v", s.ByStatus)
	}
	var skipped int64
	for _, r := range s.SkipReasons {
		if want := int64(testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE widget_id = 'succ' AND status = 'skipped' AND reason = $1`, r.Reason)); r.Count != want {
			t.Fatalf("skips %q: %d, want %d", r.Reason, r.Count, want)
		}
		skipped += r.Count
	}
	if skipped != s.ByStatus[app.StatusSkipped] {
		t.Fatalf("skip reasons add up to %d, skipped %d", skipped, s.ByStatus[app.StatusSkipped])
	}
	if s.Orders != int64(testkit.Count(t, db, `SELECT count(DISTINCT order_id) FROM ctj_decisions WHERE widget_id = 'succ'`)) {
		t.Fatalf("orders: %d", s.Orders)
	}

	// A window of decided_at excludes everything outside it.
	future := time.Now().Add(time.Hour)
	empty, err := explain.Handle(context.Background(), app.WidgetFilter{WidgetID: "succ", Since: &future})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Decisions != 0 || empty.ByStatus[app.StatusSkipped] != 0 || len(empty.SkipReasons) != 0 {
		t.Fatalf("decisions after now: %+v", empty)
	}
	if _, err := explain.Handle(context.Background(), app.WidgetFilter{WidgetID: "nosuch"}); err != app.ErrNotFound {
		t.Fatalf("unknown widget: %v, want ErrNotFound", err)
	}
}
