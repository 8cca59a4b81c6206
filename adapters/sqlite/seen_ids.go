package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/bits-and-blooms/bloom/v3"
)

// seenIDs remembers, in Bloom filters, the event ids and order ids of the
// log up to one of its offsets, so that an append looks up in the file
// only the ids the filters may hold: the ids of new events and new orders,
// nearly all of an append, are known absent without reading the file. A
// Bloom filter has no false negatives; its false positives (about one in a
// hundred) are looked up as every id was before.
//
// The filters are filled once in the background, on the first append, by
// one scan of the log; until then appends look every id up. They then
// follow the log: a group commit adds what it appended, and a snapshot
// that finds the log past the filters (records appended by another
// process or outside the group commit) reads the records in between.
type seenIDs struct {
	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc // ends a fill under way
	events  *countedFilter     // nil until filled
	orders  *countedFilter
	synced  int64 // every log record up to this offset is in the filters
}

// countedFilter is a Bloom filter and how many keys were added to it,
// against how many it was sized for: past that its false positives grow.
type countedFilter struct {
	*bloom.BloomFilter
	added, capacity uint
}

// newCountedFilter is sized for twice held keys, a million at least.
func newCountedFilter(held uint) *countedFilter {
	capacity := max(minSeenCapacity, 2*held)
	return &countedFilter{BloomFilter: bloom.NewWithEstimates(capacity, seenFalsePositives), capacity: capacity}
}

// add adds key and tells whether the filter is still within its capacity.
func (c *countedFilter) add(key []byte) bool {
	c.Add(key)
	c.added++
	return c.added <= c.capacity
}

const (
	// seenFalsePositives is the filters' false positive rate at capacity.
	seenFalsePositives = 0.01
	// minSeenCapacity is the least a filter is sized for: about 1.2 MB.
	minSeenCapacity = 1 << 20
	// maxSeenGap is how many records a snapshot reads to bring the filters
	// up to date; further behind, they are filled afresh.
	maxSeenGap = 100_000
)

// start fills the filters from the log in the background, unless they are
// filled or being filled.
func (f *seenIDs) start(db *sql.DB) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed {
		return
	}
	f.started = true
	var ctx context.Context
	ctx, f.cancel = context.WithCancel(context.Background())
	go f.fill(ctx, db)
}

// close ends a fill under way, so that the store's pools close at once.
func (f *seenIDs) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.cancel != nil {
		f.cancel()
	}
}

// fill scans the log's event ids and the orders tied to them at one
// snapshot and installs the filters with that snapshot's last offset.
// Failing, it leaves them unfilled and lets the next append try again.
func (f *seenIDs) fill(ctx context.Context, db *sql.DB) {
	events, orders, last, err := scanSeen(ctx, db)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.started = false
		return
	}
	f.events, f.orders, f.synced = events, orders, last
}

func scanSeen(ctx context.Context, db *sql.DB) (events, orders *countedFilter, last int64, err error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("begin the scan of seen ids: %w", err)
	}
	defer tx.Rollback()
	if last, err = lastOffset(ctx, tx); err != nil {
		return nil, nil, 0, err
	}
	var records, tied uint
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ctj_log), (SELECT count(*) FROM ctj_order_widgets)`).
		Scan(&records, &tied); err != nil {
		return nil, nil, 0, fmt.Errorf("count the log and its orders: %w", err)
	}
	events, orders = newCountedFilter(records), newCountedFilter(tied)
	if err := scanColumn(ctx, tx, events, `SELECT uuid FROM ctj_log WHERE "offset" <= ?`, last); err != nil {
		return nil, nil, 0, fmt.Errorf("scan the log's event ids: %w", err)
	}
	// Each order is tied in the transaction that appends its first event,
	// so the snapshot holds the ties of its records and no others.
	if err := scanColumn(ctx, tx, orders, `SELECT order_id FROM ctj_order_widgets`); err != nil {
		return nil, nil, 0, fmt.Errorf("scan the orders: %w", err)
	}
	return events, orders, last, nil
}

func scanColumn(ctx context.Context, q querier, into *countedFilter, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return err
		}
		into.add(id)
	}
	return rows.Err()
}

// maybe brings the filters up to the log's offset last, reading the
// records after the ones they hold in the snapshot q reads, and returns
// the ids and orders they may hold: all of them while the filters are not
// filled, or could not be brought up to date.
func (f *seenIDs) maybe(ctx context.Context, q querier, last int64, ids, orders []any) (maybeIDs, maybeOrders []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.events == nil {
		return ids, orders
	}
	if last-f.synced > maxSeenGap {
		f.dropLocked()
		return ids, orders
	}
	if f.synced < last && f.readLogLocked(ctx, q, last) != nil {
		return ids, orders
	}
	if f.events == nil { // dropped past capacity while reading
		return ids, orders
	}
	return testAll(f.events, ids), testAll(f.orders, orders)
}

// readLogLocked adds the records after synced, up to last.
func (f *seenIDs) readLogLocked(ctx context.Context, q querier, last int64) error {
	rows, err := q.QueryContext(ctx, `SELECT uuid, payload ->> '$.order_id' FROM ctj_log WHERE "offset" > ? AND "offset" <= ?`, f.synced, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id, order sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &order); err != nil {
			return err
		}
		f.addLocked(f.events, id)
		if len(order) > 0 {
			f.addLocked(f.orders, order)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.synced = last
	return nil
}

// addLocked adds key to filter, and drops both filters once it holds more
// than it was sized for: they are filled afresh, larger, by the next
// append, and every id is looked up meanwhile.
func (f *seenIDs) addLocked(filter *countedFilter, key []byte) {
	if f.events != nil && !filter.add(key) {
		f.dropLocked()
	}
}

func (f *seenIDs) dropLocked() {
	f.events, f.orders, f.started = nil, nil, false
}

// appended adds what a group commit appended: the records after offset
// from, up to to, the events ids and the orders tied. The filters' offset
// moves to to only if they held every record up to from and the group's
// records are these ids; otherwise the next snapshot reads the records in
// between (appended by others, or left by a call whose savepoint could not
// be undone).
func (f *seenIDs) appended(from, to int64, ids, orders []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.addLocked(f.events, []byte(id))
	}
	for _, order := range orders {
		f.addLocked(f.orders, []byte(order))
	}
	if f.events != nil && f.synced == from && to-from == int64(len(ids)) {
		f.synced = to
	}
}

func testAll(filter *countedFilter, keys []any) []any {
	var out []any
	for _, k := range keys {
		if filter.TestString(k.(string)) {
			out = append(out, k)
		}
	}
	return out
}
