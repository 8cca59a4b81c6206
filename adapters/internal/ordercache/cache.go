// Package ordercache holds the orders a store's rebuild folds in memory:
// the recently touched ones, up to a bound, and a record of those that
// left memory so that an order touched again is read back from the store.
// How orders are written out and read back is the store's own.
package ordercache

import (
	"context"
	"hash/maphash"
	"slices"

	"ctjournal/app"
	"ctjournal/domain"
)

// Order is one order's state as the live tables would hold it; L is what
// the store keeps on a send decision's row.
type Order[L any] struct {
	State       domain.OrderState
	First, Last int64      // first_position, last_position
	Leads       map[int]*L // by attempt: send decisions tried, given up or redelivered
	touched     uint64
}

// Cache holds the recently touched orders by id. An order leaves memory,
// least recently touched first, once more than the bound are held.
type Cache[L any] struct {
	maxOrders int
	orders    map[string]*Order[L]
	left      map[uint64]struct{} // hashes of orders that left memory
	seed      maphash.Seed
	clock     uint64
}

// New makes a cache that holds at most maxOrders orders before evicting.
func New[L any](maxOrders int) *Cache[L] {
	return &Cache[L]{maxOrders: maxOrders, orders: map[string]*Order[L]{},
		left: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
}

// Get is the order in memory, or nil.
func (c *Cache[L]) Get(orderID string) *Order[L] { return c.orders[orderID] }

// Update folds an event into the order, read back first (readBack) when it
// left memory, and holds the result as the order's most recent touch. It
// returns the change, or nil when the event changes nothing.
func (c *Cache[L]) Update(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error),
	readBack func(context.Context, []string) error) (*app.OrderChange, error) {
	o := c.orders[orderID]
	if o == nil && c.HasLeft(orderID) {
		if err := readBack(ctx, []string{orderID}); err != nil {
			return nil, err
		}
		o = c.orders[orderID]
	}
	fresh := o == nil
	if fresh {
		o = &Order[L]{State: domain.OrderState{OrderID: orderID}}
	}
	change, err := fold(o.State)
	if err != nil || change == nil {
		return nil, err
	}
	if fresh {
		o.First = change.Event.Position
		c.orders[orderID] = o
	}
	c.clock++
	o.State, o.Last, o.touched = change.State, change.Event.Position, c.clock
	return change, nil
}

// Hold puts an order read back from the store in memory, as just touched.
func (c *Cache[L]) Hold(orderID string, o *Order[L]) {
	c.clock++
	o.touched = c.clock
	c.orders[orderID] = o
}

// Full reports whether more orders are held than the bound.
func (c *Cache[L]) Full() bool { return len(c.orders) > c.maxOrders }

// Evict sends the least recently touched quarter of the orders in memory
// out and records that they left. An order send fails for stays.
func (c *Cache[L]) Evict(send func(*Order[L]) error) error {
	touched := make([]uint64, 0, len(c.orders))
	for _, o := range c.orders {
		touched = append(touched, o.touched)
	}
	slices.Sort(touched)
	cutoff := touched[len(touched)/4]
	for id, o := range c.orders {
		if o.touched > cutoff {
			continue
		}
		if err := send(o); err != nil {
			return err
		}
		delete(c.orders, id)
		c.left[c.hash(id)] = struct{}{}
	}
	return nil
}

// Flush sends every order still in memory out.
func (c *Cache[L]) Flush(send func(*Order[L]) error) error {
	for id, o := range c.orders {
		if err := send(o); err != nil {
			return err
		}
		delete(c.orders, id)
	}
	return nil
}

// AnyLeft reports whether any order has left memory.
func (c *Cache[L]) AnyLeft() bool { return len(c.left) > 0 }

// Missing reports whether the order is not in memory and may have left
// it, so reading it back may find it.
func (c *Cache[L]) Missing(orderID string) bool {
	_, in := c.orders[orderID]
	return !in && c.HasLeft(orderID)
}

// HasLeft reports whether the order may have left memory (a hash
// collision only costs a read that finds nothing).
func (c *Cache[L]) HasLeft(orderID string) bool {
	if len(c.left) == 0 {
		return false
	}
	_, ok := c.left[c.hash(orderID)]
	return ok
}

func (c *Cache[L]) hash(orderID string) uint64 { return maphash.String(c.seed, orderID) }
