package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"ctjournal/domain"
)

// orderLoader reads orders that left the rebuild's memory back from the
// copies, as loadOrder reads them from the live tables.
type orderLoader struct {
	db      *sql.DB
	live    string
	indexed bool
}

func (l *orderLoader) load(ctx context.Context, ids []string, placement func(widgetID string, version int) domain.Placement) (map[string]*cachedOrder, error) {
	if !l.indexed {
		// The first read-back indexes what it reads by: keys of orders and
		// decisions, and events by order. The rest waits for the seal.
		err := buildIndexes(ctx, l.db, l.live, func(p indexPlan) bool {
			return p.table != "ctj_order_events" || strings.Contains(p.create, "(order_id")
		}, "ctj_orders", "ctj_decisions", "ctj_order_events")
		if err != nil {
			return nil, err
		}
		l.indexed = true
	}
	out := map[string]*cachedOrder{}
	err := inTx(ctx, l.db, func(ctx context.Context, tx *sql.Tx) error {
		if err := l.loadOrders(ctx, tx, ids, placement, out); err != nil {
			return err
		}
		if err := l.loadDecisions(ctx, tx, ids, out); err != nil {
			return err
		}
		return l.loadEvents(ctx, tx, ids, out)
	})
	return out, err
}

func (l *orderLoader) loadOrders(ctx context.Context, tx *sql.Tx, ids []string, placement func(string, int) domain.Placement, out map[string]*cachedOrder) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM `+qualified(rebuildSchema, "ctj_orders")+` WHERE order_id = ANY($1)
		RETURNING order_id, widget_id, COALESCE(policy_version, 0), placed, first_position, last_position`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			o       cachedOrder
			version int
			placed  bool
		)
		if err := rows.Scan(&o.state.OrderID, &o.state.WidgetID, &version, &placed, &o.first, &o.last); err != nil {
			return fmt.Errorf("read back orders: %w", err)
		}
		if placed {
			p := placement(o.state.WidgetID, version)
			o.state.Placement = &p
		}
		out[o.state.OrderID] = &o
	}
	return rows.Err()
}

func (l *orderLoader) loadDecisions(ctx context.Context, tx *sql.Tx, ids []string, out map[string]*cachedOrder) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM `+qualified(rebuildSchema, "ctj_decisions")+` WHERE order_id = ANY($1)
		RETURNING `+decisionColumns, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		orderID, d, lead, err := scanDecisionRow(rows)
		if err != nil {
			return fmt.Errorf("read back decisions: %w", err)
		}
		if o := out[orderID]; o != nil {
			o.state.Decisions = append(o.state.Decisions, d)
			if lead.status != statusOf[d.Verdict] || lead.tries > 0 || lead.deliveredAt != nil {
				if o.leads == nil {
					o.leads = map[int]*leadState{}
				}
				o.leads[d.Attempt] = &lead
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range out {
		sortDecisions(o.state.Decisions)
	}
	return nil
}

func (l *orderLoader) loadEvents(ctx context.Context, tx *sql.Tx, ids []string, out map[string]*cachedOrder) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns(qualified(l.live, "ctj_log"))+`
		FROM `+qualified(rebuildSchema, "ctj_order_events")+` e WHERE e.order_id = ANY($1) ORDER BY e.order_id, e.seq`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		orderID, e, err := scanEventRow(rows)
		if err != nil {
			return fmt.Errorf("read back events: %w", err)
		}
		if o := out[orderID]; o != nil {
			o.state.Events = append(o.state.Events, e)
		}
	}
	return rows.Err()
}
