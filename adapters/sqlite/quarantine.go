package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"ctjournal/adapters/internal/sqlrows"
	"ctjournal/app"
)

// Quarantine keeps the log records the projection set aside (app.Quarantine).
type Quarantine struct{ s *Store }

func (q *Quarantine) Quarantined(ctx context.Context, orderID string) ([]app.QuarantinedRecord, error) {
	query, args := `SELECT position, order_id, error, at, recorded_at, payload FROM ctj_poison`, []any{}
	if orderID != "" {
		query, args = query+` WHERE order_id = ?`, append(args, orderID)
	}
	return quarantined(ctx, q.s.reader(ctx), query+` ORDER BY position`, args...)
}

func quarantined(ctx context.Context, db querier, query string, args ...any) ([]app.QuarantinedRecord, error) {
	recs, err := sqlrows.Collect(ctx, db, "list the quarantine", func(rows *sql.Rows) (app.QuarantinedRecord, error) {
		var (
			r              app.QuarantinedRecord
			order          sql.NullString
			at, recordedAt stamp
		)
		err := rows.Scan(&r.Position, &order, &r.Error, &at, &recordedAt, &r.Payload)
		r.OrderID, r.At, r.RecordedAt = order.String, at.Time, recordedAt.Time
		return r, err
	}, query, args...)
	return recs, unavailable(err)
}

func (q *Quarantine) Count(ctx context.Context) (int64, error) {
	var n int64
	err := q.s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM ctj_poison`).Scan(&n)
	return n, unavailable(err)
}

// Reapply applies the records again in one transaction, which holds the
// file's write lock and so the projection still.
func (q *Quarantine) Reapply(ctx context.Context, positions []int64, apply func(ctx context.Context, rec app.LogRecord) error) ([]app.ReapplyOutcome, error) {
	var out []app.ReapplyOutcome
	err := q.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		query, args := `SELECT position, order_id, error, at, recorded_at, payload FROM ctj_poison`, []any{}
		if len(positions) > 0 {
			query += ` WHERE position IN (` + placeholders(len(positions)) + `)`
			for _, p := range positions {
				args = append(args, p)
			}
		}
		recs, err := quarantined(ctx, tx, query+` ORDER BY position`, args...)
		if err != nil {
			return err
		}
		if len(positions) > 0 && len(recs) != len(uniq(positions)) {
			return &app.StateError{Message: fmt.Sprintf("not every position of %v is set aside", positions)}
		}
		for _, r := range recs {
			o := app.ReapplyOutcome{Position: r.Position}
			err := inSavepoint(ctx, tx, func() error {
				return apply(ctx, app.LogRecord{Position: r.Position, RecordedAt: r.RecordedAt, Payload: r.Payload})
			})
			if err == nil {
				o.Applied = true
				_, err = tx.ExecContext(ctx, `DELETE FROM ctj_poison WHERE position = ?`, r.Position)
			} else {
				o.Error = firstLine(err.Error())
				_, err = tx.ExecContext(ctx, `UPDATE ctj_poison SET error = ?, at = ? WHERE position = ?`, o.Error, ts(time.Now()), r.Position)
			}
			if err != nil {
				return unavailable(err)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

func uniq(ps []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, p := range ps {
		m[p] = true
	}
	return m
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// inSavepoint runs fn so that, when it fails, nothing it wrote in tx stays.
func inSavepoint(ctx context.Context, tx querier, fn func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT apply_record`); err != nil {
		return unavailable(err)
	}
	if err := fn(); err != nil {
		_, rbErr := tx.ExecContext(ctx, `ROLLBACK TO apply_record`)
		_, relErr := tx.ExecContext(ctx, `RELEASE apply_record`)
		if rbErr != nil || relErr != nil {
			return unavailable(errors.Join(err, rbErr, relErr))
		}
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE apply_record`)
	return unavailable(err)
}

// setAside quarantines rec in tx, with why.
func setAside(ctx context.Context, tx *sql.Tx, rec app.LogRecord, why error) error {
	var order any
	var head struct {
		OrderID string `json:"order_id"`
	}
	if json.Unmarshal(rec.Payload, &head) == nil && head.OrderID != "" {
		order = head.OrderID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ctj_poison (position, order_id, error, at, recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (position) DO UPDATE SET error = excluded.error, at = excluded.at`,
		rec.Position, order, firstLine(why.Error()), ts(time.Now()), ts(rec.RecordedAt), rec.Payload)
	if err != nil {
		return fmt.Errorf("set record %d aside: %w", rec.Position, err)
	}
	return nil
}
