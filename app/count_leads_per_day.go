package app

import (
	"context"
	"fmt"
	"time"
)

// DayCount counts a widget's decisions of one UTC day by lead status.
type DayCount struct {
	Day      time.Time        // midnight UTC
	ByStatus map[string]int64 // every status, zeros included
}

// AddDayCount adds a store's row, n decisions of status on the day
// written YYYY-MM-DD, to days, rows coming ordered by day.
func AddDayCount(days []DayCount, dayText, status string, n int64) ([]DayCount, error) {
	day, err := time.Parse(time.DateOnly, dayText)
	if err != nil {
		return days, fmt.Errorf("day %q: %w", dayText, err)
	}
	if len(days) == 0 || !days[len(days)-1].Day.Equal(day) {
		days = append(days, DayCount{Day: day, ByStatus: map[string]int64{}})
	}
	days[len(days)-1].ByStatus[status] = n
	return days, nil
}

// CountLeadsPerDay draws a widget's activity over time.
type CountLeadsPerDay struct{ counts LeadsPerDay }

func NewCountLeadsPerDay(c LeadsPerDay) CountLeadsPerDay { return CountLeadsPerDay{counts: c} }

// Handle returns one entry per day. With both bounds set, every day the
// range touches is there, those without decisions as zeros, so that a
// chart's days are evenly spaced.
func (h CountLeadsPerDay) Handle(ctx context.Context, f WidgetFilter) ([]DayCount, error) {
	found, err := h.counts.LeadsPerDay(ctx, f)
	if err != nil {
		return nil, err
	}
	days := found
	if f.Since != nil && f.Until != nil {
		days = everyDay(found, *f.Since, *f.Until)
	}
	for i := range days {
		if days[i].ByStatus == nil {
			days[i].ByStatus = map[string]int64{}
		}
		for _, st := range LeadStatuses {
			days[i].ByStatus[st] += 0
		}
	}
	return days, nil
}

// everyDay lays the counts found on every UTC day of [since, until).
func everyDay(found []DayCount, since, until time.Time) []DayCount {
	byDay := make(map[time.Time]DayCount, len(found))
	for _, d := range found {
		byDay[d.Day] = d
	}
	var days []DayCount
	for day := utcDay(since); day.Before(until); day = day.AddDate(0, 0, 1) {
		d, ok := byDay[day]
		if !ok {
			d = DayCount{Day: day, ByStatus: map[string]int64{}}
		}
		days = append(days, d)
	}
	return days
}

// utcDay is midnight UTC of t's day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
