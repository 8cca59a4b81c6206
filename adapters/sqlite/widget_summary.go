package sqlite

import (
	"context"
	"fmt"
	"strings"

	"ctjournal/app"
)

// WidgetSummaries answers widget summaries from the read models.
type WidgetSummaries struct{ s *Store }

func (w *WidgetSummaries) WidgetSummary(ctx context.Context, f app.WidgetFilter) (app.WidgetSummary, error) {
	sum := app.WidgetSummary{WidgetID: f.WidgetID, Since: f.Since, Until: f.Until, ByStatus: map[string]int64{}}
	db := w.s.reader(ctx)
	var known int
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ctj_orders WHERE widget_id = ?)`, f.WidgetID).Scan(&known); err != nil {
		return sum, unavailable(fmt.Errorf("look up widget %s: %w", f.WidgetID, err))
	}
	if known == 0 {
		return sum, app.ErrNotFound
	}
	where, args := []string{"widget_id = ?"}, []any{f.WidgetID}
	if f.Since != nil {
		where, args = append(where, "decided_at >= ?"), append(args, ts(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "decided_at < ?"), append(args, ts(*f.Until))
	}
	cond := strings.Join(where, " AND ")
	if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT order_id) FROM ctj_decisions WHERE `+cond, args...).Scan(&sum.Orders); err != nil {
		return sum, unavailable(fmt.Errorf("summarise widget %s: %w", f.WidgetID, err))
	}
	rows, err := db.QueryContext(ctx, `SELECT status, CASE WHEN decision = 'send' THEN '' ELSE reason END, count(*)
		FROM ctj_decisions WHERE `+cond+` GROUP BY 1, 2 ORDER BY 3 DESC, 2`, args...)
	if err != nil {
		return sum, unavailable(fmt.Errorf("summarise widget %s: %w", f.WidgetID, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status, reason string
			n              int64
		)
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return sum, unavailable(err)
		}
		sum.Add(status, reason, n)
	}
	return sum, unavailable(rows.Err())
}
