package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ctjournal/adapters/internal/sqlrows"
	"ctjournal/app"
)

// exportPage is how many rows one read of a copy takes.
const exportPage = 5000

// Export reads the store for a copy (app.StoreSource) in one read
// transaction: in WAL mode it sees one snapshot of the file throughout,
// whatever a serve beside it commits meanwhile.
func (s *Store) Export(ctx context.Context) (app.StoreExport, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin the snapshot: %w", err)
	}
	e := &export{tx: tx}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log`).Scan(&e.size); err != nil {
		return nil, errors.Join(fmt.Errorf("count the log: %w", err), tx.Rollback())
	}
	return e, nil
}

// export is one snapshot being read (app.StoreExport).
type export struct {
	tx    *sql.Tx
	size  int64
	after int64 // the last position read
}

func (e *export) LogSize() int64 { return e.size }

func (e *export) NextLogPage(ctx context.Context) ([]app.CopiedRecord, error) {
	page, err := sqlrows.Collect(ctx, e.tx, fmt.Sprintf("read the log after %d", e.after), scanCopiedRecord,
		`SELECT "offset", uuid, created_at, payload, metadata FROM ctj_log
		WHERE "offset" > ? ORDER BY "offset" LIMIT ?`, e.after, exportPage)
	if len(page) > 0 {
		e.after = page[len(page)-1].Position
	}
	return page, err
}

func scanCopiedRecord(rows *sql.Rows) (app.CopiedRecord, error) {
	var (
		r        app.CopiedRecord
		at       stamp
		payload  string
		metadata sql.NullString
	)
	if err := rows.Scan(&r.Position, &r.UUID, &at, &payload, &metadata); err != nil {
		return r, err
	}
	r.RecordedAt, r.Payload = at.Time, []byte(payload)
	if metadata.Valid {
		r.Metadata = []byte(metadata.String)
	}
	return r, nil
}

func (e *export) Policies(ctx context.Context) ([]app.StoredPolicy, error) {
	return sqlrows.Collect(ctx, e.tx, "read the policies", func(rows *sql.Rows) (app.StoredPolicy, error) {
		var (
			p    app.StoredPolicy
			body string
			at   stamp
		)
		if err := rows.Scan(&p.WidgetID, &p.Version, &body, &at); err != nil {
			return p, err
		}
		p.UpdatedAt = at.Time
		err := p.DecodePolicy([]byte(body))
		return p, err
	}, `SELECT widget_id, version, policy, updated_at FROM ctj_widget_policies ORDER BY widget_id`)
}

func (e *export) OrderWidgetsAfter(ctx context.Context, after string) ([]app.OrderWidget, error) {
	return sqlrows.Collect(ctx, e.tx, "read orders' widgets", func(rows *sql.Rows) (app.OrderWidget, error) {
		var t app.OrderWidget
		err := rows.Scan(&t.OrderID, &t.WidgetID)
		return t, err
	}, `SELECT order_id, widget_id FROM ctj_order_widgets
		WHERE order_id > ? ORDER BY order_id LIMIT ?`, after, exportPage)
}

func (e *export) Quarantined(ctx context.Context) ([]app.QuarantinedRecord, error) {
	return quarantined(ctx, e.tx, `SELECT position, order_id, error, at, recorded_at, payload FROM ctj_poison ORDER BY position`)
}

// Close ends the snapshot; it wrote nothing.
func (e *export) Close() error { return e.tx.Rollback() }
