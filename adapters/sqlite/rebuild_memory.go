package sqlite

import (
	"bytes"
	"context"
	"slices"

	"ctjournal/app"
	"ctjournal/domain"
)

// evict sends the least recently touched quarter of the orders in memory
// to the copies.
func (m *bulkModel) evict() error { return m.orders.Evict(m.writeOrder) }

// flush sends every order still in memory to the copies.
func (m *bulkModel) flush() error { return m.orders.Flush(m.writeOrder) }

// prefetch reads back, in one go, the orders of a page's call events that
// left memory, so that folding the page waits for the writer once at most.
func (m *bulkModel) prefetch(ctx context.Context, page []app.LogRecord) error {
	if !m.orders.AnyLeft() {
		return nil
	}
	var ids []string
	for _, rec := range page {
		id := callOrderID(rec.Payload)
		if id == "" {
			continue
		}
		if m.orders.Missing(id) && !slices.Contains(ids, id) {
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
			if i := slices.IndexFunc(o.State.Decisions, func(d domain.Decision) bool { return d.Key == late.key }); i >= 0 {
				leadOf(o, o.State.Decisions[i]).move(late.move)
			}
		}
		delete(m.lateMoves, id)
		m.orders.Hold(id, o)
		m.loader.forget(m.w, id)
	}
	m.reloads += len(loaded)
	return nil
}
