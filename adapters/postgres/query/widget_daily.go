package query

import (
	"context"
	"fmt"
	"strings"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// LeadsPerDay counts the widget's decisions per UTC day of decided_at and
// status (app.LeadsPerDay), on ctj_decisions_widget.
func (s *WidgetSummaries) LeadsPerDay(ctx context.Context, f app.WidgetFilter) ([]app.DayCount, error) {
	where := []string{"widget_id = $1"}
	args := []any{f.WidgetID}
	if f.Since != nil {
		args = append(args, *f.Since)
		where = append(where, fmt.Sprintf("decided_at >= $%d", len(args)))
	}
	if f.Until != nil {
		args = append(args, *f.Until)
		where = append(where, fmt.Sprintf("decided_at < $%d", len(args)))
	}
	// The day travels as text: a date scanned into time.Time would take
	// the session's time zone.
	rows, err := s.db.QueryContext(ctx, `SELECT to_char((decided_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, status, count(*)
		FROM ctj_decisions WHERE `+strings.Join(where, " AND ")+` GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("count leads per day of widget %s: %w", f.WidgetID, err))
	}
	defer rows.Close()
	var days []app.DayCount
	for rows.Next() {
		var (
			dayText, status string
			n               int64
		)
		if err := rows.Scan(&dayText, &status, &n); err != nil {
			return nil, err
		}
		if days, err = app.AddDayCount(days, dayText, status, n); err != nil {
			return nil, fmt.Errorf("count leads per day of widget %s: %w", f.WidgetID, err)
		}
	}
	return days, pgdb.Unavailable(rows.Err())
}
