package rebuild

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
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
	parts := map[string]*storedOrder{}
	err := pgdb.InTx(ctx, l.db, func(ctx context.Context, tx *sql.Tx) error {
		if err := l.loadOrders(ctx, tx, ids, placement, parts); err != nil {
			return err
		}
		if err := l.loadDecisions(ctx, tx, ids, parts); err != nil {
			return err
		}
		return l.loadEvents(ctx, tx, ids, parts)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*cachedOrder, len(parts))
	for id, p := range parts {
		state, err := domain.OrderStateFromStore(id, p.widgetID, p.placement, p.events, p.decisions)
		if err != nil {
			return nil, fmt.Errorf("read back orders: %w", err)
		}
		out[id] = &cachedOrder{State: state, First: p.first, Last: p.last, Leads: p.leads}
	}
	return out, nil
}

// storedOrder is what the copies hold of one order, gathered from their
// three tables before the domain checks it as a whole.
type storedOrder struct {
	widgetID    string
	placement   *domain.Placement
	events      []domain.LoggedEvent
	decisions   []domain.Decision
	first, last int64
	leads       map[int]*pgrows.LeadState
}

func (l *orderLoader) loadOrders(ctx context.Context, tx *sql.Tx, ids []string, placement func(string, int) domain.Placement, out map[string]*storedOrder) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM `+qualified(rebuildSchema, "ctj_orders")+` WHERE order_id = ANY($1)
		RETURNING order_id, widget_id, COALESCE(policy_version, 0), placed, first_position, last_position`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id      string
			o       storedOrder
			version int
			placed  bool
		)
		if err := rows.Scan(&id, &o.widgetID, &version, &placed, &o.first, &o.last); err != nil {
			return fmt.Errorf("read back orders: %w", err)
		}
		if placed {
			p := placement(o.widgetID, version)
			o.placement = &p
		}
		out[id] = &o
	}
	return rows.Err()
}

func (l *orderLoader) loadDecisions(ctx context.Context, tx *sql.Tx, ids []string, out map[string]*storedOrder) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM `+qualified(rebuildSchema, "ctj_decisions")+` WHERE order_id = ANY($1)
		RETURNING `+pgrows.DecisionColumns, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		orderID, d, lead, err := pgrows.ScanDecisionRow(rows)
		if err != nil {
			return fmt.Errorf("read back decisions: %w", err)
		}
		if o := out[orderID]; o != nil {
			o.decisions = append(o.decisions, d)
			if lead.Status != pgrows.StatusOf[d.Verdict] || lead.Tries > 0 || lead.DeliveredAt != nil {
				if o.leads == nil {
					o.leads = map[int]*pgrows.LeadState{}
				}
				o.leads[d.Attempt] = &lead
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range out {
		pgrows.SortDecisions(o.decisions)
	}
	return nil
}

func (l *orderLoader) loadEvents(ctx context.Context, tx *sql.Tx, ids []string, out map[string]*storedOrder) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+pgrows.EventColumns(qualified(l.live, "ctj_log"))+`
		FROM `+qualified(rebuildSchema, "ctj_order_events")+` e WHERE e.order_id = ANY($1) ORDER BY e.order_id, e.seq`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read back events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		orderID, e, err := pgrows.ScanEventRow(rows)
		if err != nil {
			return fmt.Errorf("read back events: %w", err)
		}
		if o := out[orderID]; o != nil {
			o.events = append(o.events, e)
		}
	}
	return rows.Err()
}
