package app

import (
	"context"
	"testing"
	"time"
)

type fixedDays []DayCount

func (f fixedDays) LeadsPerDay(context.Context, WidgetFilter) ([]DayCount, error) { return f, nil }

func TestCountLeadsPerDayFillsEveryDayOfTheRange(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	found := fixedDays{
		{Day: day(2), ByStatus: map[string]int64{StatusDelivered: 3}},
		{Day: day(4), ByStatus: map[string]int64{StatusSkipped: 1}},
	}
	since, until := day(1).Add(15*time.Hour), day(5) // from the 1st's afternoon to the 4th's end
	got, err := NewCountLeadsPerDay(found).Handle(context.Background(), WidgetFilter{WidgetID: "w", Since: &since, Until: &until})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		day       time.Time
		delivered int64
		skipped   int64
	}{{day(1), 0, 0}, {day(2), 3, 0}, {day(3), 0, 0}, {day(4), 0, 1}}
	if len(got) != len(want) {
		t.Fatalf("%d days %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if !g.Day.Equal(w.day) || g.ByStatus[StatusDelivered] != w.delivered || g.ByStatus[StatusSkipped] != w.skipped {
			t.Errorf("day %d: %+v, want %v delivered %d skipped %d", i, g, w.day, w.delivered, w.skipped)
		}
		if len(g.ByStatus) != len(LeadStatuses) {
			t.Errorf("day %d: statuses %v, want every status", i, g.ByStatus)
		}
	}
}

func TestCountLeadsPerDayWithoutBoundsGivesTheDaysFound(t *testing.T) {
	found := fixedDays{{Day: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}}
	got, err := NewCountLeadsPerDay(found).Handle(context.Background(), WidgetFilter{WidgetID: "w"})
	if err != nil || len(got) != 1 || got[0].ByStatus[StatusFailed] != 0 || len(got[0].ByStatus) != len(LeadStatuses) {
		t.Fatalf("%+v, %v: want the one day found, every status counted", got, err)
	}
}
