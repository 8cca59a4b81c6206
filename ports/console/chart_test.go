package console

import (
	"testing"
	"time"

	"ctjournal/app"
)

func TestNiceCeiling(t *testing.T) {
	for n, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 5: 5, 6: 10, 11: 20, 42: 50, 99: 100, 101: 200, 4999: 5000} {
		if got := niceCeiling(n); got != want {
			t.Errorf("niceCeiling(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestDrawChart_StacksEachDaysStatusesToScale(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	days := []app.DayCount{
		{Day: day(1), ByStatus: map[string]int64{app.StatusDelivered: 6, app.StatusSkipped: 4}},
		{Day: day(2), ByStatus: map[string]int64{}},
		{Day: day(3), ByStatus: map[string]int64{app.StatusFailed: 5}},
	}
	c := drawChart(days)
	if c.Total != 15 || len(c.Bars) != 3 {
		t.Fatalf("total %d, bars %+v", c.Total, c.Bars)
	}
	plot := c.Bottom - c.Top // the scale's top is 10
	delivered, skipped, failed := c.Bars[0], c.Bars[1], c.Bars[2]
	if delivered.Status != app.StatusDelivered || delivered.H != round1(0.6*plot) || delivered.Y+delivered.H != c.Bottom {
		t.Errorf("delivered %+v, want 6/10 of the plot from the baseline", delivered)
	}
	if skipped.Status != app.StatusSkipped || skipped.Y+skipped.H != delivered.Y || skipped.Y != c.Top {
		t.Errorf("skipped %+v, want it on top of delivered, reaching the top", skipped)
	}
	if failed.X <= skipped.X || failed.H != round1(0.5*plot) || failed.Title != "2026-03-03: 5 failed" {
		t.Errorf("failed %+v, want the third day's column, half high", failed)
	}
	if len(c.YTicks) != 3 || c.YTicks[2].Label != "10" || c.YTicks[2].At != c.Top || c.YTicks[0].At != c.Bottom {
		t.Errorf("y ticks %+v, want 0, 5, 10", c.YTicks)
	}
	if len(c.XTicks) != 3 || c.XTicks[0].Label != "03-01" {
		t.Errorf("x ticks %+v, want one a day", c.XTicks)
	}

	month := make([]app.DayCount, 31)
	for i := range month {
		month[i] = app.DayCount{Day: day(1).AddDate(0, 0, i), ByStatus: map[string]int64{app.StatusDelivered: 1}}
	}
	if ticks := drawChart(month).XTicks; len(ticks) > maxXTicks {
		t.Errorf("%d day labels for a month, want at most %d", len(ticks), maxXTicks)
	}
	if empty := drawChart(nil); empty.Total != 0 || len(empty.Bars) != 0 {
		t.Errorf("no days: %+v", empty)
	}
}
