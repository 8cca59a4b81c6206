package query

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
)

// historyBatch is how many orders one round of history queries loads.
const historyBatch = 500

// History reads a widget's past orders from the read models for a
// simulation (app.History). It only reads.
type History struct{ db *sql.DB }

func NewHistory(db *sql.DB) *History { return &History{db: db} }

// WidgetHistory pages through the widget's orders by order_id, loading
// each page's events and decisions in two queries.
func (h *History) WidgetHistory(ctx context.Context, f app.HistoryFilter, each func(app.HistoryOrder) error) error {
	after := ""
	for {
		where := []string{"widget_id = $1", "order_id > $2"}
		args := []any{f.WidgetID, after}
		if f.Since != nil {
			args = append(args, *f.Since)
			where = append(where, fmt.Sprintf("ordered_at >= $%d", len(args)))
		}
		if f.Until != nil {
			args = append(args, *f.Until)
			where = append(where, fmt.Sprintf("ordered_at < $%d", len(args)))
		}
		ids, err := pgdb.QueryTexts(ctx, h.db, `SELECT order_id FROM ctj_orders WHERE `+strings.Join(where, " AND ")+
			fmt.Sprintf(` ORDER BY order_id LIMIT %d`, historyBatch), args...)
		if err != nil {
			return pgdb.Unavailable(fmt.Errorf("list orders of widget %s: %w", f.WidgetID, err))
		}
		if len(ids) == 0 {
			return nil
		}
		orders, err := h.load(ctx, f.WidgetID, ids)
		if err != nil {
			return pgdb.Unavailable(err)
		}
		for _, id := range ids {
			if err := each(*orders[id]); err != nil {
				return err
			}
		}
		if len(ids) < historyBatch {
			return nil
		}
		after = ids[len(ids)-1]
	}
}

func (h *History) load(ctx context.Context, widgetID string, ids []string) (map[string]*app.HistoryOrder, error) {
	out := make(map[string]*app.HistoryOrder, len(ids))
	for _, id := range ids {
		out[id] = &app.HistoryOrder{OrderID: id, WidgetID: widgetID, Statuses: map[int]string{}}
	}
	// One snapshot for both reads, so a fold committing meanwhile cannot
	// pair events with decisions of another moment.
	tx, err := h.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	err = func() error {
		rows, err := tx.QueryContext(ctx, `SELECT `+pgrows.EventColumns("ctj_log")+`
			FROM ctj_order_events e WHERE e.order_id = ANY($1) ORDER BY e.order_id, e.seq`, pq.Array(ids))
		if err != nil {
			return fmt.Errorf("load events: %w", err)
		}
		for rows.Next() {
			id, e, err := pgrows.ScanEventRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out[id].Events = append(out[id].Events, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT `+pgrows.DecisionColumns+` FROM ctj_decisions WHERE order_id = ANY($1) ORDER BY order_id, attempt`, pq.Array(ids))
		if err != nil {
			return fmt.Errorf("load decisions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			id, d, lead, err := pgrows.ScanDecisionRow(rows)
			if err != nil {
				return err
			}
			out[id].Decisions = append(out[id].Decisions, d)
			out[id].Statuses[d.Attempt] = lead.Status
		}
		return rows.Err()
	}()
	return out, err
}
