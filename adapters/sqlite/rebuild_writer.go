package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// bulkTable is one copy the bulk writer fills, with the columns its rows
// give, in order.
type bulkTable struct {
	name    string
	columns []string
}

// The copies the bulk writer fills, in the order of bulkTables.
const (
	tablePolicies = iota
	tableOrders
	tableEvents
	tableDecisions
	tableTries
	tableCount
)

var bulkTables = [tableCount]bulkTable{
	tablePolicies:  {rebuildTables.Replace("ctj_policy_versions"), []string{"widget_id", "version", "policy", "token_masked", "position", "recorded_at"}},
	tableOrders:    {rebuildTables.Replace("ctj_orders"), []string{"order_id", "widget_id", "policy_version", "placed", "kind", "has_session_id", "ordered_at", "scheduled_at", "first_position", "last_position"}},
	tableEvents:    {rebuildTables.Replace("ctj_order_events"), []string{"seq", "position", "event_id", "order_id", "widget_id", "type", "attempt", "occurred_at", "recorded_at", "note"}},
	tableDecisions: {rebuildTables.Replace("ctj_decisions"), []string{"order_id", "widget_id", "attempt", "decision", "key", "reason", "warnings", "policy_version", "payload", "decided_at", "decided_by", "status", "tries", "delivered_at"}},
	tableTries:     {rebuildTables.Replace("ctj_delivery_tries"), []string{"seq", "position", "key", "try", "at", "duration_ms", "http_status", "response", "error", "outcome"}},
}

// rowsPerInsert is how many rows one INSERT statement carries: enough that
// a statement's own cost is spread thin, few enough to stay far below
// SQLite's limit on bound values.
const rowsPerInsert = 128

// bulkOp is a statement a batch runs before its rows: deleting the rows of
// orders read back into memory, indexing a copy.
type bulkOp struct {
	query string
	args  []any
}

// bulkBatch is what one transaction writes: statements, then rows for
// each copy as flat lists of values. synced, when set, is closed once it
// is committed.
type bulkBatch struct {
	ops    []bulkOp
	values [tableCount][]any
	rows   int
	synced chan struct{}
}

// bulkWriter writes rows into the copies on its own goroutine, which owns
// the store's writing connection meanwhile, with multi-row INSERTs, each
// batch in one transaction of its own: a transaction short enough that a
// serve beside the rebuild waits little for the file's write lock, long
// enough that commits cost little.
type bulkWriter struct {
	db        *sql.DB
	batchRows int
	pending   *bulkBatch
	in        chan *bulkBatch
	free      chan *bulkBatch
	ctx       context.Context
	cancel    context.CancelCauseFunc
	wg        sync.WaitGroup
	closed    bool
	args      []driver.NamedValue // the writer goroutine's
}

func newBulkWriter(ctx context.Context, db *sql.DB, batchRows int) *bulkWriter {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &bulkWriter{db: db, batchRows: batchRows, ctx: ctx, cancel: cancel,
		// One batch waiting bounds the memory rows take.
		in: make(chan *bulkBatch, 1), free: make(chan *bulkBatch, 2)}
	w.pending = w.batch()
	w.wg.Go(func() {
		if err := w.run(); err != nil {
			w.cancel(err)
		}
	})
	return w
}

func (w *bulkWriter) batch() *bulkBatch {
	select {
	case b := <-w.free:
		for i := range b.values {
			clear(b.values[i])
			b.values[i] = b.values[i][:0]
		}
		clear(b.ops)
		b.ops, b.rows, b.synced = b.ops[:0], 0, nil
		return b
	default:
		return &bulkBatch{}
	}
}

// add queues one row of table t, its values in the table's column order,
// each of a type the driver takes as it is: int64, string, bool, nil.
func (w *bulkWriter) add(t int, values ...any) error {
	b := w.pending
	b.values[t] = append(b.values[t], values...)
	b.rows++
	if b.rows < w.batchRows {
		return nil
	}
	return w.send(nil)
}

// exec queues a statement, run before the rows queued after it.
func (w *bulkWriter) exec(query string, args ...any) {
	w.pending.ops = append(w.pending.ops, bulkOp{query: query, args: args})
}

func (w *bulkWriter) send(synced chan struct{}) error {
	b := w.pending
	b.synced = synced
	w.pending = w.batch()
	select {
	case w.in <- b:
		return nil
	case <-w.ctx.Done():
		return w.err()
	}
}

// sync returns once everything queued so far is committed.
func (w *bulkWriter) sync() error {
	done := make(chan struct{})
	if err := w.send(done); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-w.ctx.Done():
		return w.err()
	}
}

// close writes what is queued and stops the writer.
func (w *bulkWriter) close() error {
	err := w.sync()
	w.stop()
	return err
}

// abort stops the writer without writing what is queued.
func (w *bulkWriter) abort() {
	w.cancel(errors.New("rebuild stopped"))
	w.stop()
}

func (w *bulkWriter) stop() {
	if w.closed {
		return
	}
	w.closed = true
	close(w.in)
	w.wg.Wait()
	w.cancel(nil)
}

func (w *bulkWriter) err() error {
	if err := context.Cause(w.ctx); err != nil {
		return err
	}
	return w.ctx.Err()
}

func (w *bulkWriter) run() error {
	for b := range w.in {
		if len(b.ops) > 0 || b.rows > 0 {
			if err := w.write(b); err != nil {
				return unavailable(fmt.Errorf("write the copies: %w", err))
			}
		}
		if b.synced != nil {
			close(b.synced)
		}
		select {
		case w.free <- b:
		default:
		}
	}
	return nil
}

// write commits one batch. It runs its statements on the driver's
// connection itself: the values are the driver's already, and going
// through database/sql would copy and check each of them again.
func (w *bulkWriter) write(b *bulkBatch) error {
	conn, err := w.db.Conn(w.ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		exec, ok := dc.(driver.ExecerContext)
		prep, ok2 := dc.(driver.ConnPrepareContext)
		if !ok || !ok2 {
			return errors.New("the SQLite driver cannot run statements directly")
		}
		if _, err := exec.ExecContext(w.ctx, "BEGIN IMMEDIATE", nil); err != nil {
			return err
		}
		if err := w.writeRows(exec, prep, b); err != nil {
			_, rbErr := exec.ExecContext(context.WithoutCancel(w.ctx), "ROLLBACK", nil)
			return errors.Join(err, rbErr)
		}
		_, err := exec.ExecContext(w.ctx, "COMMIT", nil)
		return err
	})
}

func (w *bulkWriter) writeRows(exec driver.ExecerContext, prep driver.ConnPrepareContext, b *bulkBatch) error {
	for _, op := range b.ops {
		if _, err := exec.ExecContext(w.ctx, op.query, w.named(op.args)); err != nil {
			return fmt.Errorf("%s: %w", op.query, err)
		}
	}
	stmts := map[[2]int]driver.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for t, values := range b.values {
		cols := len(bulkTables[t].columns)
		for len(values) > 0 {
			n := min(len(values)/cols, rowsPerInsert)
			st := stmts[[2]int{t, n}]
			if st == nil {
				var err error
				if st, err = prep.PrepareContext(w.ctx, insertRows(bulkTables[t], n)); err != nil {
					return err
				}
				stmts[[2]int{t, n}] = st
			}
			ex, ok := st.(driver.StmtExecContext)
			if !ok {
				return errors.New("the SQLite driver cannot run statements directly")
			}
			if _, err := ex.ExecContext(w.ctx, w.named(values[:n*cols])); err != nil {
				return fmt.Errorf("insert into %s: %w", bulkTables[t].name, err)
			}
			values = values[n*cols:]
		}
	}
	return nil
}

// named is values as the driver takes them, in a slice reused from call
// to call.
func (w *bulkWriter) named(values []any) []driver.NamedValue {
	w.args = w.args[:0]
	for i, v := range values {
		w.args = append(w.args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return w.args
}

// insertRows is an INSERT of n rows into t.
func insertRows(t bulkTable, n int) string {
	row := "(" + placeholders(len(t.columns)) + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.columns, ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
