package rebuild

import (
	"context"
	"hash/maphash"
	"slices"

	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
)

// evict sends the least recently touched quarter of the orders in memory
// to the copies.
func (m *bulkModel) evict() error {
	touched := make([]uint64, 0, len(m.orders))
	for _, o := range m.orders {
		touched = append(touched, o.touched)
	}
	slices.Sort(touched)
	cutoff := touched[len(touched)/4]
	for id, o := range m.orders {
		if o.touched > cutoff {
			continue
		}
		if err := m.writeOrder(o); err != nil {
			return err
		}
		delete(m.orders, id)
		m.left[m.hash(id)] = struct{}{}
	}
	return nil
}

// flush sends every order still in memory to the copies.
func (m *bulkModel) flush() error {
	for id, o := range m.orders {
		if err := m.writeOrder(o); err != nil {
			return err
		}
		delete(m.orders, id)
	}
	return nil
}

func (m *bulkModel) hash(orderID string) uint64 { return maphash.String(m.seed, orderID) }

// hasLeft reports whether the order may have left memory (a hash
// collision only costs a read that finds nothing).
func (m *bulkModel) hasLeft(orderID string) bool {
	if len(m.left) == 0 {
		return false
	}
	_, ok := m.left[m.hash(orderID)]
	return ok
}

// prefetch reads back, in one go, the orders of a page's call events that
// left memory, so that folding the page needs no read of its own.
func (m *bulkModel) prefetch(ctx context.Context, page []app.LogRecord) error {
	if len(m.left) == 0 {
		return nil
	}
	var ids []string
	for _, rec := range page {
		id := pgrows.OrderIDOf(rec.Payload)
		if id == "" {
			continue
		}
		if _, in := m.orders[id]; !in && m.hasLeft(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return m.readBack(ctx, ids)
}

// readBack brings orders that left memory back from the copies and
// removes their order and decision rows there: they go out again when the
// orders next leave. Their events stay: events are written once.
func (m *bulkModel) readBack(ctx context.Context, ids []string) error {
	if err := m.w.sync(); err != nil {
		return err
	}
	loaded, err := m.loader.load(ctx, ids, m.placement)
	if err != nil {
		return err
	}
	for id, o := range loaded {
		m.clock++
		o.touched = m.clock
		m.orders[id] = o
	}
	m.reloads += len(loaded)
	return nil
}
