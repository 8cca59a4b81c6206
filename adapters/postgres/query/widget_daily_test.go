package query_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/query"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

func TestLeadsPerDay_CountsByUTCDayAndStatus(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", func(p *domain.Policy) { p.OnlySuccessful = true })
	testkit.Ingest(t, s,
		storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1), // sent
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1), // sent
		storetest.Ordered("o-3", "w-1"), storetest.Failed("o-3", "w-1", 1), // skipped
		storetest.Ordered("o-4", "w-2"), storetest.Answered("o-4", "w-2", 1), // another widget
	)
	testkit.Settle(t, s.DB)
	// Move the decisions to known instants: o-1 late on March 1st in UTC,
	// which is already March 2nd in Moscow; o-2 and o-3 on March 3rd.
	for order, at := range map[string]string{
		"o-1": "2026-03-01T23:30:00Z", "o-2": "2026-03-03T00:00:00Z", "o-3": "2026-03-03T23:59:59.999Z", "o-4": "2026-03-03T12:00:00Z",
	} {
		if _, err := s.DB.Exec(`UPDATE ctj_decisions SET decided_at = $2 WHERE order_id = $1`, order, at); err != nil {
			t.Fatal(err)
		}
	}
	// A session in another time zone still counts UTC days.
	moscow, err := sql.Open("postgres", s.URL+"&timezone=Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	defer moscow.Close()
	if zone := testkit.Texts(t, moscow, `SHOW TimeZone`); zone[0] != "Europe/Moscow" {
		t.Fatalf("session time zone %v", zone)
	}
	summaries := query.NewWidgetSummaries(moscow)
	days, err := summaries.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "w-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dayCounts(days), "2026-03-01 pending=1; 2026-03-03 pending=1 skipped=1"; got != want {
		t.Fatalf("days %s, want %s", got, want)
	}

	since, until := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 23, 59, 59, 999000000, time.UTC)
	days, err = summaries.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "w-1", Since: &since, Until: &until})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dayCounts(days), "2026-03-03 pending=1"; got != want {
		t.Fatalf("days in [%s, %s): %s, want %s", since, until, got, want)
	}
	if days, err := summaries.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "nosuch"}); err != nil || len(days) != 0 {
		t.Fatalf("unknown widget: %v, %v; want no days", days, err)
	}
}

func dayCounts(days []app.DayCount) string {
	var parts []string
	for _, d := range days {
		part := d.Day.Format(time.DateOnly)
		if d.Day.Location() != time.UTC || d.Day.Hour() != 0 {
			part += "(not midnight UTC: " + d.Day.String() + ")"
		}
		for _, st := range []string{app.StatusDelivered, app.StatusFailed, app.StatusPending, app.StatusSkipped, app.StatusWaiting} {
			if n := d.ByStatus[st]; n > 0 {
				part += fmt.Sprintf(" %s=%d", st, n)
			}
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
