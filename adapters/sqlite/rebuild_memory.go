package sqlite

import (
	"bytes"
	"context"
	"hash/maphash"
	"slices"

	"ctjournal/app"
	"ctjournal/domain"
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
// left memory, so that folding the page waits for the writer once at most.
func (m *bulkModel) prefetch(ctx context.Context, page []app.LogRecord) error {
	if len(m.left) == 0 {
		return nil
	}
	var ids []string
	for _, rec := range page {
		id := callOrderID(rec.Payload)
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

var (
	callTypeKey = []byte(`"type":"call.`)
	orderIDKey  = []byte(`"order_id":"`)
)

// callOrderID finds a call event's order id cheaply, in the log's
// canonical form (wire.MarshalEvent: the order id before the data, whose
// details may hold a member of that name). A wrong guess costs only a
// read that finds nothing, or one made later while folding.
func callOrderID(payload []byte) string {
	if !bytes.Contains(payload, callTypeKey) {
		return ""
	}
	i := bytes.Index(payload, orderIDKey)
	if i < 0 {
		return ""
	}
	rest := payload[i+len(orderIDKey):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

// readBack brings orders that left memory back from the copies, with the
// lead moves that waited for them, and removes their order and decision
// rows there: they go out again when the orders next leave. Their events
// stay: events are written once.
func (m *bulkModel) readBack(ctx context.Context, ids []string) error {
	m.loader.prepare(m.w)
	if err := m.w.sync(); err != nil {
		return err
	}
	loaded, err := m.loader.load(ctx, ids)
	if err != nil {
		return err
	}
	for id, o := range loaded {
		// A move for a lead the order does not hold found no row, live
		// as here.
		for _, late := range m.lateMoves[id] {
			if i := slices.IndexFunc(o.state.Decisions, func(d domain.Decision) bool { return d.Key == late.key }); i >= 0 {
				o.lead(o.state.Decisions[i]).move(late.move)
			}
		}
		delete(m.lateMoves, id)
		m.clock++
		o.touched = m.clock
		m.orders[id] = o
		m.loader.forget(m.w, id)
	}
	m.reloads += len(loaded)
	return nil
}
