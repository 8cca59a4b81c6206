package sqlite

import (
	"context"
	"fmt"
	"strings"

	"ctjournal/app"
)

// LeadsPerDay counts the widget's decisions per UTC day of decided_at and
// status (app.LeadsPerDay). Times are stored as fixed-width UTC text, so
// a day is the text's first ten characters.
func (w *WidgetSummaries) LeadsPerDay(ctx context.Context, f app.WidgetFilter) ([]app.DayCount, error) {
	where, args := []string{"widget_id = ?"}, []any{f.WidgetID}
	if f.Since != nil {
		where, args = append(where, "decided_at >= ?"), append(args, ts(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "decided_at < ?"), append(args, ts(*f.Until))
	}
	rows, err := w.s.reader(ctx).QueryContext(ctx, `SELECT substr(decided_at, 1, 10), status, count(*)
		FROM ctj_decisions WHERE `+strings.Join(where, " AND ")+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("count leads per day of widget %s: %w", f.WidgetID, err))
	}
	defer rows.Close()
	var days []app.DayCount
	for rows.Next() {
		var (
			dayText, status string
			n               int64
		)
		if err := rows.Scan(&dayText, &status, &n); err != nil {
			return nil, unavailable(err)
		}
		if days, err = app.AddDayCount(days, dayText, status, n); err != nil {
			return nil, fmt.Errorf("count leads per day of widget %s: %w", f.WidgetID, err)
		}
	}
	return days, unavailable(rows.Err())
}
