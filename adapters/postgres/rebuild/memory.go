package rebuild

import (
	"context"
	"errors"
)

// evict sends the least recently touched quarter of the orders in memory
// to the copies.
func (m *bulkModel) evict() error { return m.encode(m.orders.Evict) }

// flush sends every order still in memory to the copies.
func (m *bulkModel) flush() error { return m.encode(m.orders.Flush) }

// encode hands the orders leave takes out of memory to the encoder in one
// go.
func (m *bulkModel) encode(leave func(send func(*cachedOrder) error) error) error {
	var leaving []*cachedOrder
	if err := leave(func(o *cachedOrder) error {
		leaving = append(leaving, o)
		return nil
	}); err != nil {
		return err
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

// prefetch reads back, in one go, those of a page's orders that left
// memory, so that folding the page needs no read of its own.
func (m *bulkModel) prefetch(ctx context.Context, orderIDs []string) error {
	if !m.orders.AnyLeft() {
		return nil
	}
	var ids []string
	for _, id := range orderIDs {
		if m.orders.Missing(id) {
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
	loaded, err := m.loader.load(ctx, ids, m.policies.Placement)
	if err != nil {
		return err
	}
	for id, o := range loaded {
		m.orders.Hold(id, o)
	}
	m.reloads += len(loaded)
	return nil
}
