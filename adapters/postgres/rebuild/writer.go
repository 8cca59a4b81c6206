package rebuild

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// copyTarget is one table the bulk writer fills, and its columns in the
// order rows give them.
type copyTarget struct {
	table   string // qualified
	columns []string
}

// copyBatch is rows for one table in COPY's text format; synced, when
// set, is closed once every row sent before it is committed.
type copyBatch struct {
	rows   *copyRows
	synced chan struct{}
}

// bulkWriter streams rows into several tables at once, each on its own
// connection, with COPY. Rows are encoded as COPY text as they come, so a
// batch is one buffer, not a value per column. Every batch commits on its
// own: a long transaction would hold the log's xmin back and stall the
// live projection, which reads only below it.
type bulkWriter struct {
	batchBytes int
	targets    []copyTarget
	pending    []*copyRows // per target: rows not yet handed to its writer
	written    []int64     // per target: rows ended so far
	in         []chan copyBatch
	conns      []*sql.Conn
	free       chan *copyRows // spent buffers, for reuse
	ctx        context.Context
	cancel     context.CancelCauseFunc
	wg         sync.WaitGroup
	closed     bool
}

func newBulkWriter(ctx context.Context, db *sql.DB, batchBytes int, targets ...copyTarget) (*bulkWriter, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &bulkWriter{batchBytes: batchBytes, targets: targets, ctx: ctx, cancel: cancel,
		pending: make([]*copyRows, len(targets)), written: make([]int64, len(targets)), in: make([]chan copyBatch, len(targets)),
		conns: make([]*sql.Conn, len(targets)), free: make(chan *copyRows, len(targets))}
	for i := range targets {
		conn, err := db.Conn(ctx)
		if err != nil {
			w.abort()
			return nil, fmt.Errorf("connect: %w", err)
		}
		w.conns[i] = conn
		// The copies are worthless until the swap commits, and the swap's
		// own commit flushes the WAL written before it: these commits need
		// not wait for the disk.
		if _, err := conn.ExecContext(ctx, `SET synchronous_commit = off`); err != nil {
			w.abort()
			return nil, err
		}
		w.pending[i] = w.buffer()
		// One batch waiting per table bounds the memory rows can take.
		w.in[i] = make(chan copyBatch, 1)
	}
	for i := range targets {
		w.wg.Go(func() {
			if err := w.run(i); err != nil {
				w.cancel(err)
			}
		})
	}
	return w, nil
}

// firstBufferBytes is how large a new buffer starts.
const firstBufferBytes = 64 << 10

func (w *bulkWriter) buffer() *copyRows {
	select {
	case b := <-w.free:
		b.reset()
		return b
	default:
		// A buffer grows with its rows and keeps its size when reused: a
		// table that gets few rows holds no more than it needs.
		return &copyRows{buf: make([]byte, 0, min(w.batchBytes, firstBufferBytes))}
	}
}

// row starts a row for target i; end it with endRow.
func (w *bulkWriter) row(i int) *copyRows { return w.pending[i] }

// endRow ends the row started on target i and hands the batch over once
// it is full.
func (w *bulkWriter) endRow(i int) error {
	w.pending[i].endRow()
	w.written[i]++
	if len(w.pending[i].buf) < w.batchBytes {
		return nil
	}
	return w.send(i, nil)
}

func (w *bulkWriter) send(i int, synced chan struct{}) error {
	b := copyBatch{rows: w.pending[i], synced: synced}
	w.pending[i] = w.buffer()
	select {
	case w.in[i] <- b:
		return nil
	case <-w.ctx.Done():
		return w.err()
	}
}

// rowsWritten is how many rows were ended on the target named table.
func (w *bulkWriter) rowsWritten(table string) int64 {
	for i, t := range w.targets {
		if t.table == table {
			return w.written[i]
		}
	}
	return 0
}

// sendPending hands the rows pending on the given targets to their
// writers; each channel it returns is closed once its target's rows are
// committed.
func (w *bulkWriter) sendPending(targets ...int) ([]chan struct{}, error) {
	done := make([]chan struct{}, 0, len(targets))
	for _, i := range targets {
		d := make(chan struct{})
		if err := w.send(i, d); err != nil {
			return nil, err
		}
		done = append(done, d)
	}
	return done, nil
}

// wait returns once every channel in done is closed.
func (w *bulkWriter) wait(done []chan struct{}) error {
	for _, d := range done {
		select {
		case <-d:
		case <-w.ctx.Done():
			return w.err()
		}
	}
	return nil
}

// abort stops the writers without writing what is pending.
func (w *bulkWriter) abort() {
	w.cancel(errors.New("rebuild stopped"))
	w.stop()
}

func (w *bulkWriter) stop() {
	if w.closed {
		return
	}
	w.closed = true
	for _, c := range w.in {
		if c != nil {
			close(c)
		}
	}
	w.wg.Wait()
	for _, c := range w.conns {
		if c != nil {
			c.Close()
		}
	}
	w.cancel(nil)
}

func (w *bulkWriter) err() error {
	if err := context.Cause(w.ctx); err != nil {
		return err
	}
	return w.ctx.Err()
}

func (w *bulkWriter) run(i int) error {
	for b := range w.in[i] {
		if b.rows.n > 0 {
			if err := copyIn(w.ctx, w.conns[i], w.targets[i], b.rows); err != nil {
				return err
			}
		}
		select {
		case w.free <- b.rows:
		default:
		}
		if b.synced != nil {
			close(b.synced)
		}
	}
	return nil
}

// copyData is lib/pq's COPY statement: it takes rows already in COPY's
// text format.
type copyData interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyChunk is about how many bytes of rows one CopyData call takes: less
// than lib/pq's message buffer, which then never grows, and a message
// goes out as each fills.
const copyChunk = 48 << 10

// sendRows hands buf, whole rows each ending with a newline, to the COPY a
// chunk of rows at a time. A chunk goes as a string over buf's own bytes,
// not a copy: CopyData copies it into its message before it returns, and
// buf does not change meanwhile.
func sendRows(ctx context.Context, cd copyData, buf []byte) error {
	for len(buf) > 0 {
		end := len(buf)
		if end > copyChunk {
			// The chunk ends after the last whole row within copyChunk, or
			// after the first row when that row alone is longer.
			if i := bytes.LastIndexByte(buf[:copyChunk], '\n'); i >= 0 {
				end = i + 1
			} else {
				end = copyChunk + bytes.IndexByte(buf[copyChunk:], '\n') + 1
			}
		}
		// CopyData ends what it is given with a newline.
		chunk := buf[:end-1]
		if _, err := cd.CopyData(ctx, unsafe.String(unsafe.SliceData(chunk), len(chunk))); err != nil {
			return err
		}
		buf = buf[end:]
	}
	return nil
}

// copyIn writes rows into t with one COPY, in a transaction of its own.
func copyIn(ctx context.Context, conn *sql.Conn, t copyTarget, rows *copyRows) error {
	err := conn.Raw(func(dc any) error {
		exec, ok := dc.(driver.ExecerContext)
		prep, ok2 := dc.(driver.ConnPrepareContext)
		if !ok || !ok2 {
			return fmt.Errorf("the PostgreSQL driver cannot COPY")
		}
		if _, err := exec.ExecContext(ctx, "BEGIN", nil); err != nil {
			return err
		}
		err := func() error {
			stmt, err := prep.PrepareContext(ctx, fmt.Sprintf(`COPY %s (%s) FROM STDIN`, t.table, strings.Join(t.columns, ", ")))
			if err != nil {
				return err
			}
			defer stmt.Close()
			cd, ok := stmt.(copyData)
			if !ok {
				return fmt.Errorf("the PostgreSQL driver cannot COPY raw rows")
			}
			if err := sendRows(ctx, cd, rows.buf); err != nil {
				return err
			}
			// lib/pq ends a COPY with an Exec of no values.
			_, err = stmt.Exec(nil)
			return err
		}()
		if err != nil {
			_, _ = exec.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
			return err
		}
		_, err = exec.ExecContext(ctx, "COMMIT", nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy into %s: %w", t.table, err)
	}
	return nil
}
