package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// orderLoader reads orders that left the rebuild's memory back from the
// copies, as the live projection reads them from its tables (loadOrder),
// through the reading pool: the writer's connection is the bulk writer's.
type orderLoader struct {
	read    *sql.DB
	indexed bool
}

// prepare indexes the events copy by order before the first read-back;
// the copies get their other indexes at the swap.
func (l *orderLoader) prepare(w *bulkWriter) {
	if l.indexed {
		return
	}
	w.exec(`CREATE INDEX ` + rebuildTables.Replace("ctj_order_events_order") + ` ON ` + bulkTables[tableEvents].name + ` (order_id, seq)`)
	l.indexed = true
}

func (l *orderLoader) load(ctx context.Context, ids []string) (map[string]*cachedOrder, error) {
	out := make(map[string]*cachedOrder, len(ids))
	for _, id := range ids {
		o, err := l.loadOne(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read back order %s: %w", id, err)
		}
		if o != nil {
			out[id] = o
		}
	}
	return out, nil
}

// loadOne reads one order back; nil when the copies hold no such order.
func (l *orderLoader) loadOne(ctx context.Context, id string) (*cachedOrder, error) {
	o := &cachedOrder{}
	err := l.read.QueryRowContext(ctx, `SELECT first_position, last_position FROM `+bulkTables[tableOrders].name+` WHERE order_id = ?`, id).
		Scan(&o.First, &o.Last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if o.State, err = loadOrder(ctx, l.read, rebuildTables.Replace, id); err != nil {
		return nil, err
	}
	rows, err := l.read.QueryContext(ctx, `SELECT attempt, status, tries, delivered_at FROM `+bulkTables[tableDecisions].name+`
		WHERE order_id = ? AND key IS NOT NULL`, id)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			attempt     int
			l           leadState
			deliveredAt stamp
		)
		if err := rows.Scan(&attempt, &l.status, &l.tries, &deliveredAt); err != nil {
			return nil, unavailable(err)
		}
		l.deliveredAt = deliveredAt.ptr()
		if o.Leads == nil {
			o.Leads = map[int]*leadState{}
		}
		o.Leads[attempt] = &l
	}
	return o, unavailable(rows.Err())
}

// forget removes a read-back order's row and decisions from the copies.
func (l *orderLoader) forget(w *bulkWriter, id string) {
	w.exec(`DELETE FROM `+bulkTables[tableOrders].name+` WHERE order_id = ?`, id)
	w.exec(`DELETE FROM `+bulkTables[tableDecisions].name+` WHERE order_id = ?`, id)
}
