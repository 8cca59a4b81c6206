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
	mu       sync.Mutex
	started  bool
	events   *bloom.BloomFilter // nil until filled
	orders   *bloom.BloomFilter
	synced   int64 // every log record up to this offset is in the filters
	added    uint  // ids added since the filters were sized
	capacity uint  // how many ids the filters were sized for
}

// seenFalsePositives is the filters' false positive rate at capacity.
const seenFalsePositives = 0.01

// minSeenCapacity is the least the filters are sized for: a few MiB.
const minSeenCapacity = 1 << 20

// start fills the filters from the log in the background, once.
func (f *seenIDs) start(db *sql.DB) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return
	}
	f.started = true
	go f.fill(db)
}

// fill scans the log's event ids and the orders tied to them at one
// snapshot, sized for twice what it finds, and installs the filters with
// that snapshot's last offset. Failing, it leaves them unfilled and lets
// the next append try again.
func (f *seenIDs) fill(db *sql.DB) {
	events, orders, last, err := scanSeen(context.Background(), db)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.started = false
		return
	}
	f.events, f.orders, f.synced = events, orders, last
	f.added, f.capacity = 0, events.Cap()
}

func scanSeen(ctx context.Context, db *sql.DB) (events, orders *bloom.BloomFilter, last int64, err error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("begin the scan of seen ids: %w", err)
	}
	defer tx.Rollback()
	if last, err = lastOffset(ctx, tx); err != nil {
		return nil, nil, 0, err
	}
	var records int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log`).Scan(&records); err != nil {
		return nil, nil, 0, fmt.Errorf("count the log: %w", err)
	}
	capacity := max(minSeenCapacity, 2*uint(records))
	events = bloom.NewWithEstimates(capacity, seenFalsePositives)
	orders = bloom.NewWithEstimates(capacity, seenFalsePositives)
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

func scanColumn(ctx context.Context, q querier, into *bloom.BloomFilter, query string, args ...any) error {
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
		into.Add(id)
	}
	return rows.Err()
}

// maybe brings the filters up to the log's offset last, reading the
// records after the ones they hold in the snapshot q reads, and returns
// the ids and orders they may hold: all of them while the filters are not
// filled.
func (f *seenIDs) maybe(ctx context.Context, q querier, last int64, ids, orders []any) (maybeIDs, maybeOrders []any, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.events == nil {
		return ids, orders, nil
	}
	if f.synced < last {
		if err := f.readLogLocked(ctx, q, last); err != nil {
			return nil, nil, err
		}
	}
	if f.events == nil { // dropped past capacity while reading
		return ids, orders, nil
	}
	return testAll(f.events, ids), testAll(f.orders, orders), nil
}

// readLogLocked adds the records after synced, up to last.
func (f *seenIDs) readLogLocked(ctx context.Context, q querier, last int64) error {
	rows, err := q.QueryContext(ctx, `SELECT uuid, payload ->> '$.order_id' FROM ctj_log WHERE "offset" > ? AND "offset" <= ?`, f.synced, last)
	if err != nil {
		return fmt.Errorf("read the log after the seen ids: %w", err)
	}
	defer rows.Close()
	var id, order sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &order); err != nil {
			return fmt.Errorf("read the log after the seen ids: %w", err)
		}
		f.addLocked(f.events, id)
		if len(order) > 0 {
			f.addLocked(f.orders, order)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the log after the seen ids: %w", err)
	}
	f.synced = last
	return nil
}

// addLocked adds key to filter, and drops both filters once they hold
// more than they were sized for: past capacity their false positives
// grow, so they are filled afresh, larger, and every id is looked up
// meanwhile.
func (f *seenIDs) addLocked(filter *bloom.BloomFilter, key []byte) {
	if f.events == nil {
		return
	}
	filter.Add(key)
	if f.added++; f.added > f.capacity {
		f.events, f.orders, f.started = nil, nil, false
	}
}

// appended adds what a group commit appended: the records after offset
// from, up to to. Records appended after the filters' offset and before
// from, by others, are left to the next snapshot, which reads them.
func (f *seenIDs) appended(from, to int64, ids, orders []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.addLocked(f.events, []byte(id))
	}
	for _, order := range orders {
		f.addLocked(f.orders, []byte(order))
	}
	if f.events != nil && f.synced == from {
		f.synced = to
	}
}

func testAll(filter *bloom.BloomFilter, keys []any) []any {
	var out []any
	for _, k := range keys {
		if filter.TestString(k.(string)) {
			out = append(out, k)
		}
	}
	return out
}
