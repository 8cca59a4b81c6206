package query

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// WidgetSummaries counts a widget's decisions from ctj_decisions
// (app.WidgetSummaries).
type WidgetSummaries struct{ db *sql.DB }

func NewWidgetSummaries(db *sql.DB) *WidgetSummaries { return &WidgetSummaries{db: db} }

func (s *WidgetSummaries) WidgetSummary(ctx context.Context, f app.WidgetFilter) (app.WidgetSummary, error) {
	sum := app.WidgetSummary{WidgetID: f.WidgetID, Since: f.Since, Until: f.Until, ByStatus: map[string]int64{}}
	var known bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ctj_orders WHERE widget_id = $1)`, f.WidgetID).Scan(&known); err != nil {
		return sum, pgdb.Unavailable(fmt.Errorf("look up widget %s: %w", f.WidgetID, err))
	}
	if !known {
		return sum, app.ErrNotFound
	}
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
	cond := strings.Join(where, " AND ")
	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT order_id) FROM ctj_decisions WHERE `+cond, args...).Scan(&sum.Orders); err != nil {
		return sum, pgdb.Unavailable(fmt.Errorf("summarise widget %s: %w", f.WidgetID, err))
	}
	// One row per status and reason for skips and waits, per status for leads.
	rows, err := s.db.QueryContext(ctx, `SELECT status, CASE WHEN decision = 'send' THEN '' ELSE reason END, count(*)
		FROM ctj_decisions WHERE `+cond+` GROUP BY 1, 2 ORDER BY 3 DESC, 2`, args...)
	if err != nil {
		return sum, pgdb.Unavailable(fmt.Errorf("summarise widget %s: %w", f.WidgetID, err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status, reason string
			n              int64
		)
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return sum, err
		}
		sum.Add(status, reason, n)
	}
	return sum, pgdb.Unavailable(rows.Err())
}
