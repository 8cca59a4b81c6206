// Package storecopy reads a PostgreSQL store whole and writes a copy into
// an empty one (copy-store): the log at its positions and in its order,
// the write side, the quarantine, and the delivery queue from the rebuilt
// read models.
package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ctjournal/adapters/internal/sqlrows"
	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// exportPage is how many rows one read of a copy takes.
const exportPage = 5000

// Source reads a store for a copy (app.StoreSource).
type Source struct{ db *sql.DB }

func NewSource(db *sql.DB) *Source { return &Source{db: db} }

// Export reads the store in one read-only, repeatable-read transaction:
// one snapshot throughout, whatever a serve commits meanwhile.
func (s *Source) Export(ctx context.Context) (app.StoreExport, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("begin the snapshot: %w", err))
	}
	e := &export{tx: tx}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log`).Scan(&e.size); err != nil {
		return nil, errors.Join(fmt.Errorf("count the log: %w", err), tx.Rollback())
	}
	return e, nil
}

// export is one snapshot being read (app.StoreExport).
type export struct {
	tx   *sql.Tx
	size int64
	// The last record read, by its key in the log's order.
	afterTx     string
	afterOffset int64
}

func (e *export) LogSize() int64 { return e.size }

// NextLogPage reads the log in its order, (transaction_id, offset),
// seeking its primary key past the last record read.
func (e *export) NextLogPage(ctx context.Context) ([]app.CopiedRecord, error) {
	afterTx := e.afterTx
	if afterTx == "" {
		afterTx = "0"
	}
	page, err := sqlrows.Collect(ctx, e.tx, fmt.Sprintf("read the log after %d", e.afterOffset), func(rows *sql.Rows) (app.CopiedRecord, error) {
		var (
			r        app.CopiedRecord
			payload  string
			metadata sql.NullString
			at       time.Time
		)
		if err := rows.Scan(&r.Position, &e.afterTx, &r.UUID, &at, &payload, &metadata); err != nil {
			return r, err
		}
		r.RecordedAt, r.Payload = at.UTC(), []byte(payload)
		if metadata.Valid {
			r.Metadata = []byte(metadata.String)
		}
		e.afterOffset = r.Position
		return r, nil
	}, `SELECT "offset", transaction_id::text AS tx, uuid, created_at, payload::text, metadata::text
		FROM ctj_log WHERE (transaction_id, "offset") > ($1::xid8, $2)
		ORDER BY transaction_id, "offset" LIMIT $3`, afterTx, e.afterOffset, exportPage)
	return page, err
}

func (e *export) Policies(ctx context.Context) ([]app.StoredPolicy, error) {
	return sqlrows.Collect(ctx, e.tx, "read the policies", func(rows *sql.Rows) (app.StoredPolicy, error) {
		var (
			p    app.StoredPolicy
			body string
		)
		if err := rows.Scan(&p.WidgetID, &p.Version, &body, &p.UpdatedAt); err != nil {
			return p, err
		}
		p.UpdatedAt = p.UpdatedAt.UTC()
		err := p.DecodePolicy([]byte(body))
		return p, err
	}, `SELECT widget_id, version, policy::text, updated_at FROM ctj_widget_policies ORDER BY widget_id`)
}

func (e *export) OrderWidgetsAfter(ctx context.Context, after string) ([]app.OrderWidget, error) {
	return sqlrows.Collect(ctx, e.tx, "read orders' widgets", func(rows *sql.Rows) (app.OrderWidget, error) {
		var t app.OrderWidget
		err := rows.Scan(&t.OrderID, &t.WidgetID)
		return t, err
	}, `SELECT order_id, widget_id FROM ctj_order_widgets
		WHERE order_id > $1 ORDER BY order_id LIMIT $2`, after, exportPage)
}

func (e *export) Quarantined(ctx context.Context) ([]app.QuarantinedRecord, error) {
	return sqlrows.Collect(ctx, e.tx, "read the quarantine", func(rows *sql.Rows) (app.QuarantinedRecord, error) {
		var (
			r       app.QuarantinedRecord
			payload string
		)
		if err := rows.Scan(&r.Position, &r.OrderID, &r.Error, &r.At, &r.RecordedAt, &payload); err != nil {
			return r, err
		}
		r.At, r.RecordedAt, r.Payload = r.At.UTC(), r.RecordedAt.UTC(), []byte(payload)
		return r, nil
	}, `SELECT p.position, coalesce(p.order_id, ''), coalesce(p.error, ''), p.created_at, l.created_at, l.payload::text
		FROM ctj_poison p JOIN ctj_log l ON (l.transaction_id, l."offset") = (p.log_transaction_id, p.position)
		ORDER BY l.transaction_id, l."offset"`)
}

// Close ends the snapshot; it wrote nothing.
func (e *export) Close() error { return e.tx.Rollback() }
