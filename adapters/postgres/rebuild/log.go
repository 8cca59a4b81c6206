package rebuild

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
)

// logPos is a place in the log's total order: (transaction_id, offset).
type logPos struct {
	tx     uint64
	offset int64
}

func (p logPos) less(q logPos) bool {
	return p.tx < q.tx || p.tx == q.tx && p.offset < q.offset
}

func (p logPos) String() string { return fmt.Sprintf("(%d, %d)", p.tx, p.offset) }

func (p logPos) txArg() string { return strconv.FormatUint(p.tx, 10) }

// projectionPosition is how far the live projection has folded the log:
// the position its consumer group acknowledged last; zero when it never
// ran. forUpdate locks the offsets row, which holds the projection still
// until the transaction ends (its every poll locks that row first).
func projectionPosition(ctx context.Context, q pgdb.Querier, schema string, forUpdate bool) (logPos, error) {
	query := `SELECT COALESCE(offset_acked, 0), last_processed_transaction_id::text FROM ` + qualified(schema, "ctj_log_offsets") +
		` WHERE consumer_group = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var (
		p  logPos
		tx string
	)
	err := q.QueryRowContext(ctx, query, pgdb.ProjectionConsumerGroup).Scan(&p.offset, &tx)
	if errors.Is(err, sql.ErrNoRows) {
		return logPos{}, nil
	}
	if err != nil {
		return logPos{}, fmt.Errorf("read the projection's offset: %w", err)
	}
	if p.tx, err = strconv.ParseUint(tx, 10, 64); err != nil {
		return logPos{}, fmt.Errorf("read the projection's offset: transaction id %q: %w", tx, err)
	}
	return p, nil
}

// countLog counts the log's records up to upTo: nearly the whole log, as
// the projection's offset is near its end. Read through the log's key
// (a bitmap or index scan) that costs the key's pages on top of the whole
// heap, which the planner may still prefer without statistics (a freshly
// filled log): a scan of the heap, or of the key alone where the
// visibility map allows, costs less.
func countLog(ctx context.Context, db *sql.DB, schema string, upTo logPos) (int64, error) {
	var n int64
	err := pgdb.InTx(ctx, db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = off`); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM `+qualified(schema, "ctj_log")+`
			WHERE (transaction_id, "offset") <= ($1::xid8, $2)`, upTo.txArg(), upTo.offset).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count log records: %w", err)
	}
	return n, nil
}

// readLog reads up to limit records in (after, upTo] in log order, seeking
// the log's primary key: one page costs the page, not the log before it.
// Only transactions below the snapshot's xmin are read, as the projection
// does, so that a transaction still committing is never skipped.
func readLog(ctx context.Context, q pgdb.Querier, schema string, after, upTo logPos, limit int) ([]app.LogRecord, logPos, error) {
	// The text form of transaction_id is named tx: an output column named
	// transaction_id would make ORDER BY sort by the text.
	rows, err := q.QueryContext(ctx, `SELECT l."offset", l.transaction_id::text AS tx, l.created_at, l.payload
		FROM `+qualified(schema, "ctj_log")+` l
		WHERE (l.transaction_id, l."offset") > ($1::xid8, $2) AND (l.transaction_id, l."offset") <= ($3::xid8, $4)
			AND l.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY l.transaction_id, l."offset" LIMIT $5`,
		after.txArg(), after.offset, upTo.txArg(), upTo.offset, limit)
	if err != nil {
		return nil, after, fmt.Errorf("read the log after %s: %w", after, err)
	}
	defer rows.Close()
	out := make([]app.LogRecord, 0, limit)
	last := after
	for rows.Next() {
		var (
			rec app.LogRecord
			tx  string
			at  time.Time
		)
		if err := rows.Scan(&rec.Position, &tx, &at, &rec.Payload); err != nil {
			return nil, after, fmt.Errorf("scan log record: %w", err)
		}
		if last.tx, err = strconv.ParseUint(tx, 10, 64); err != nil {
			return nil, after, fmt.Errorf("log record %d: transaction id %q: %w", rec.Position, tx, err)
		}
		last.offset, rec.TransactionID = rec.Position, last.tx
		// As the projection gets it: created_at (UTC) to the microsecond.
		rec.RecordedAt = at.UTC()
		out = append(out, rec)
	}
	return out, last, rows.Err()
}

// logPage is one page the log reader fetched ahead, with the orders its
// records name, found by the reader rather than the fold.
type logPage struct {
	records  []app.LogRecord
	orderIDs []string // each order once, in the page's order
	err      error
}

// orderIDsOf lists the orders records name, each once.
func orderIDsOf(records []app.LogRecord) []string {
	var ids []string
	seen := map[string]struct{}{}
	for _, rec := range records {
		id := pgrows.OrderIDOf(rec.Payload)
		if _, dup := seen[id]; id == "" || dup {
			continue
		}
		seen[id] = struct{}{}
		ids = append(ids, id)
	}
	return ids
}

// orderedScan makes the planner read the log in its primary key's order
// rather than fetch the whole rest of the range and sort it, which it may
// prefer when the log's statistics are stale (a freshly filled log).
const orderedScan = `SET enable_sort = off`

// readAhead reads (after, upTo] page by page on its own goroutine and
// connection, one page ahead of the caller, and closes the channel after
// the last.
func readAhead(ctx context.Context, db *sql.DB, schema string, after, upTo logPos, pageSize int) <-chan logPage {
	pages := make(chan logPage, 1)
	go func() {
		defer close(pages)
		send := func(p logPage) bool {
			select {
			case pages <- p:
				return p.err == nil
			case <-ctx.Done():
				return false
			}
		}
		if !after.less(upTo) {
			return
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			send(logPage{err: err})
			return
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, orderedScan); err != nil {
			send(logPage{err: err})
			return
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `RESET enable_sort`)
		for after.less(upTo) {
			recs, last, err := readLog(ctx, conn, schema, after, upTo, pageSize)
			if err == nil && len(recs) == 0 {
				// The offset says the projection folded records we cannot
				// see: it cannot be, unless the log lost rows.
				err = fmt.Errorf("the log ends at %s, before the projection's offset %s", after, upTo)
			}
			if !send(logPage{records: recs, orderIDs: orderIDsOf(recs), err: err}) {
				return
			}
			after = last
		}
	}()
	return pages
}
