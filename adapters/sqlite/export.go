package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	rows, err := e.tx.QueryContext(ctx, `SELECT "offset", uuid, created_at, payload, metadata FROM ctj_log
		WHERE "offset" > ? ORDER BY "offset" LIMIT ?`, e.after, exportPage)
	if err != nil {
		return nil, fmt.Errorf("read the log after %d: %w", e.after, err)
	}
	defer rows.Close()
	var out []app.CopiedRecord
	for rows.Next() {
		var (
			r        app.CopiedRecord
			at       stamp
			payload  string
			metadata sql.NullString
		)
		if err := rows.Scan(&r.Position, &r.UUID, &at, &payload, &metadata); err != nil {
			return nil, fmt.Errorf("read the log after %d: %w", e.after, err)
		}
		r.RecordedAt, r.Payload = at.Time, []byte(payload)
		if metadata.Valid {
			r.Metadata = []byte(metadata.String)
		}
		out = append(out, r)
		e.after = r.Position
	}
	return out, rows.Err()
}

func (e *export) Policies(ctx context.Context) ([]app.StoredPolicy, error) {
	rows, err := e.tx.QueryContext(ctx, `SELECT widget_id, version, policy, updated_at FROM ctj_widget_policies ORDER BY widget_id`)
	if err != nil {
		return nil, fmt.Errorf("read the policies: %w", err)
	}
	defer rows.Close()
	var out []app.StoredPolicy
	for rows.Next() {
		var (
			p    app.StoredPolicy
			body string
			at   stamp
		)
		if err := rows.Scan(&p.WidgetID, &p.Version, &body, &at); err != nil {
			return nil, fmt.Errorf("read the policies: %w", err)
		}
		if err := p.DecodePolicy([]byte(body)); err != nil {
			return nil, err
		}
		p.UpdatedAt = at.Time
		out = append(out, p)
	}
	return out, rows.Err()
}

func (e *export) OrderWidgetsAfter(ctx context.Context, after string) ([]app.OrderWidget, error) {
	rows, err := e.tx.QueryContext(ctx, `SELECT order_id, widget_id FROM ctj_order_widgets
		WHERE order_id > ? ORDER BY order_id LIMIT ?`, after, exportPage)
	if err != nil {
		return nil, fmt.Errorf("read orders' widgets: %w", err)
	}
	defer rows.Close()
	var out []app.OrderWidget
	for rows.Next() {
		var t app.OrderWidget
		if err := rows.Scan(&t.OrderID, &t.WidgetID); err != nil {
			return nil, fmt.Errorf("read orders' widgets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (e *export) Quarantined(ctx context.Context) ([]app.QuarantinedRecord, error) {
	return quarantined(ctx, e.tx, `SELECT position, order_id, error, at, recorded_at, payload FROM ctj_poison ORDER BY position`)
}

// Close ends the snapshot; it wrote nothing.
func (e *export) Close() error { return e.tx.Rollback() }
