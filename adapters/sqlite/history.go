package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ctjournal/app"
)

// History reads a widget's past orders for a simulation; it never writes.
type History struct{ s *Store }

// WidgetHistory reads, in one read transaction (one snapshot), the
// widget's orders ordered in the filter's range, one at a time.
func (h *History) WidgetHistory(ctx context.Context, f app.HistoryFilter, each func(app.HistoryOrder) error) error {
	tx, err := h.s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return unavailable(fmt.Errorf("read history: %w", err))
	}
	defer tx.Rollback()
	where, args := []string{"widget_id = ?"}, []any{f.WidgetID}
	if f.Since != nil {
		where, args = append(where, "ordered_at >= ?"), append(args, ts(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "ordered_at < ?"), append(args, ts(*f.Until))
	}
	rows, err := tx.QueryContext(ctx, `SELECT order_id FROM ctj_orders WHERE `+strings.Join(where, " AND ")+` ORDER BY order_id`, args...)
	if err != nil {
		return unavailable(fmt.Errorf("list orders of widget %s: %w", f.WidgetID, err))
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return unavailable(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	for _, id := range ids {
		o := app.HistoryOrder{OrderID: id, WidgetID: f.WidgetID}
		if o.Events, err = loadEvents(ctx, tx, liveTables.Replace, id); err != nil {
			return unavailable(err)
		}
		if o.Decisions, o.Statuses, err = loadDecisions(ctx, tx, liveTables.Replace, id); err != nil {
			return unavailable(err)
		}
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}
