package rebuild

import (
	"context"
	"errors"
	"hash/maphash"
	"slices"
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
	var leaving []*cachedOrder
	for id, o := range m.orders {
		if o.touched > cutoff {
			continue
		}
		leaving = append(leaving, o)
		delete(m.orders, id)
		m.left[m.hash(id)] = struct{}{}
	}
	return m.enc.write(leaving)
}

// flush sends every order still in memory to the copies.
func (m *bulkModel) flush() error {
	leaving := make([]*cachedOrder, 0, len(m.orders))
	for id, o := range m.orders {
		leaving = append(leaving, o)
		delete(m.orders, id)
	}
	return m.enc.write(leaving)
}

// sync returns once every row sent to the copies so far is committed.
func (m *bulkModel) sync() error {
	encoded, err := m.enc.sendPending()
	if err != nil {
		return err
	}
	folded, err := m.w.sendPending(foldTargets...)
	if err != nil {
		return err
	}
	return m.w.wait(append(encoded, folded...))
}

// abort stops the encoder and the writers without writing what is
// pending. The encoder stops first: it sends to the writers.
func (m *bulkModel) abort() {
	m.w.cancel(errors.New("rebuild stopped"))
	<-m.enc.done
	m.w.abort()
}

// close commits every row sent to the copies and stops the writers.
func (m *bulkModel) close() error {
	err := m.sync()
	m.enc.stop()
	m.w.stop()
	return err
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

// prefetch reads back, in one go, those of a page's orders that left
// memory, so that folding the page needs no read of its own.
func (m *bulkModel) prefetch(ctx context.Context, orderIDs []string) error {
	if len(m.left) == 0 {
		return nil
	}
	var ids []string
	for _, id := range orderIDs {
		if _, in := m.orders[id]; !in && m.hasLeft(id) {
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
	if err := m.sync(); err != nil {
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
