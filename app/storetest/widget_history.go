package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// RunWidgetHistory checks what the console shows of a widget's past:
// every policy version the log recorded, newest first and without the
// token, and its decisions counted per UTC day by status.
func RunWidgetHistory(t *testing.T, newEngine func(t *testing.T, giveUpAfter time.Duration) Engine) {
	parallel(t, func(t *testing.T) Engine { return newEngine(t, giveUpAfter) }, []check[Engine]{
		{"PolicyVersionsNewestFirstWithoutTheToken", policyVersionsNewestFirst},
		{"LeadsPerDayCountsEachStatusOfTheDay", leadsPerDayByStatus},
	})
}

func policyVersionsNewestFirst(t *testing.T, e Engine) {
	p := ValidPolicy()
	setPolicy(t, e, "w-1", p)
	p.OnlySuccessful = true
	setPolicy(t, e, "w-1", p)
	p.Enabled = false
	setPolicy(t, e, "w-1", p)
	setPolicy(t, e, "w-2", ValidPolicy())
	e.Settle(t)

	versions, err := e.PolicyVersions.PolicyVersions(context.Background(), "w-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 {
		t.Fatalf("%d versions %+v, want 3", len(versions), versions)
	}
	for i, v := range versions {
		if v.Version != 3-i || v.WidgetID != "w-1" || v.Position <= 0 || v.RecordedAt.IsZero() {
			t.Errorf("version %d: %+v", i, v)
		}
		if v.Policy.Token != "" || v.TokenMasked != domain.MaskToken(Token) || strings.Contains(v.TokenMasked, Token) {
			t.Errorf("version %d: token %q, masked %q; want only the masked form", v.Version, v.Policy.Token, v.TokenMasked)
		}
	}
	if versions[0].Policy.Enabled || !versions[1].Policy.OnlySuccessful || versions[2].Policy.OnlySuccessful ||
		versions[2].Policy.SiteID != ValidPolicy().SiteID {
		t.Errorf("versions %+v, want each change as made", versions)
	}
	if none, err := e.PolicyVersions.PolicyVersions(context.Background(), "nosuch"); err != nil || len(none) != 0 {
		t.Errorf("a widget without a policy: %+v, %v; want none", none, err)
	}
}

func leadsPerDayByStatus(t *testing.T, e Engine) {
	p := ValidPolicy()
	p.OnlySuccessful = true
	setPolicy(t, e, "w-1", p)
	setPolicy(t, e, "w-2", p)
	ingest(t, e,
		Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1), // sent: pending, no worker runs
		Ordered("o-2", "w-1"), Answered("o-2", "w-1", 1),
		Ordered("o-3", "w-1"), Failed("o-3", "w-1", 1), LastAttempt("o-3", "w-1", 1), // skipped
		Ordered("o-4", "w-2"), Answered("o-4", "w-2", 1), // another widget
	)
	e.Settle(t)

	days, err := e.LeadsPerDay.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "w-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 {
		t.Fatalf("days %+v, want the one day everything was decided", days)
	}
	d := days[0]
	y, m, dd := time.Now().UTC().Date()
	if today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC); !d.Day.Equal(today) && !d.Day.Equal(today.AddDate(0, 0, -1)) {
		t.Errorf("day %s, want midnight UTC of today", d.Day)
	}
	if d.Day.Location() != time.UTC || d.ByStatus[app.StatusPending] != 2 || d.ByStatus[app.StatusSkipped] != 1 || len(d.ByStatus) != 2 {
		t.Errorf("day %s: %v, want 2 pending and 1 skipped", d.Day, d.ByStatus)
	}
	later := time.Now().Add(time.Hour)
	if days, err := e.LeadsPerDay.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "w-1", Since: &later}); err != nil || len(days) != 0 {
		t.Errorf("decided after now: %+v, %v; want none", days, err)
	}
	if days, err := e.LeadsPerDay.LeadsPerDay(context.Background(), app.WidgetFilter{WidgetID: "nosuch"}); err != nil || len(days) != 0 {
		t.Errorf("an unknown widget: %+v, %v; want none", days, err)
	}
}
