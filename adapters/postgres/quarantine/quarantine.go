// Package quarantine keeps the log records the projection set aside:
// storing one with its error, listing, counting and applying them again.
package quarantine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// Quarantine is the log records the projection set aside, in ctj_poison
// (app.Quarantine).
type Quarantine struct{ db *sql.DB }

func NewQuarantine(db *sql.DB) *Quarantine { return &Quarantine{db: db} }

// setAsideStatement stores a record set aside; a record set aside again
// (a retry failed) keeps one row, with its latest error.
const setAsideStatement = `INSERT INTO ctj_poison (uuid, payload, metadata, transaction_id, position,
		log_transaction_id, order_id, error)
	VALUES ($1, $2::jsonb, $3::json, pg_current_xact_id(), $4, $5::xid8, NULLIF($6, ''), $7)
	ON CONFLICT (position) DO UPDATE SET error = excluded.error, metadata = excluded.metadata,
		created_at = excluded.created_at`

// setAside stores rec, naming the order it names, with why it could not
// be applied; metadata is the poison queue's (watermill's reason_poisoned
// and the like).
func SetAside(ctx context.Context, q pgdb.Querier, uuid string, rec app.LogRecord, metadata any, reason string) error {
	meta, err := json.Marshal(metadata)
	if err != nil {
		return fmt.Errorf("set record %d aside: %w", rec.Position, err)
	}
	if _, err := q.ExecContext(ctx, setAsideStatement, uuid, string(rec.Payload), string(meta), rec.Position,
		strconv.FormatUint(rec.TransactionID, 10), NamedOrder(rec.Payload), ShortReason(reason)); err != nil {
		return fmt.Errorf("set record %d aside: %w", rec.Position, err)
	}
	return nil
}

// namedOrder is the order id a record names at its top level; empty when
// it names none that can be read.
func NamedOrder(payload []byte) string {
	var head struct {
		OrderID string `json:"order_id"`
	}
	if json.Unmarshal(payload, &head) != nil {
		return ""
	}
	return head.OrderID
}

// shortReason is the first line of why a record failed, as text
// PostgreSQL takes: a panic's error goes on with its stack trace, which
// the log has.
func ShortReason(reason string) string {
	line, _, _ := strings.Cut(strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "?"), "\n")
	return strings.TrimSuffix(strings.TrimSpace(line), ", stacktrace:")
}

func (q *Quarantine) Quarantined(ctx context.Context, orderID string) ([]app.QuarantinedRecord, error) {
	query := `SELECT p.position, coalesce(p.order_id, ''), coalesce(p.error, ''), p.created_at, l.created_at, l.payload
		FROM ctj_poison p JOIN ctj_log l ON (l.transaction_id, l."offset") = (p.log_transaction_id, p.position)`
	var args []any
	if orderID != "" {
		query += ` WHERE p.order_id = $1`
		args = append(args, orderID)
	}
	rows, err := q.db.QueryContext(ctx, query+` ORDER BY l.transaction_id, l."offset"`, args...)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("list quarantined records: %w", err))
	}
	defer rows.Close()
	var out []app.QuarantinedRecord
	for rows.Next() {
		var r app.QuarantinedRecord
		if err := rows.Scan(&r.Position, &r.OrderID, &r.Error, &r.At, &r.RecordedAt, &r.Payload); err != nil {
			return nil, pgdb.Unavailable(fmt.Errorf("list quarantined records: %w", err))
		}
		r.At, r.RecordedAt = r.At.UTC(), r.RecordedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("list quarantined records: %w", err))
	}
	return out, nil
}

func (q *Quarantine) Count(ctx context.Context) (int64, error) {
	return countQuarantined(ctx, q.db)
}

func countQuarantined(ctx context.Context, q pgdb.Querier) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM ctj_poison WHERE position IS NOT NULL`).Scan(&n); err != nil {
		return 0, pgdb.Unavailable(fmt.Errorf("count quarantined records: %w", err))
	}
	return n, nil
}

// Reapply runs in one transaction that first locks the projection's
// offsets row, as a rebuild's swap does: every poll of the projection
// locks it first, so no batch folds the same orders meanwhile from states
// read before these records. Each record is applied in a savepoint of its
// own, so one that fails again is undone alone and stays aside.
func (q *Quarantine) Reapply(ctx context.Context, positions []int64, apply func(ctx context.Context, rec app.LogRecord) error) ([]app.ReapplyOutcome, error) {
	var out []app.ReapplyOutcome
	err := pgdb.InTx(ctx, q.db, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM ctj_log_offsets WHERE consumer_group = $1 FOR UPDATE`,
			pgdb.ProjectionConsumerGroup); err != nil {
			return fmt.Errorf("hold the projection: %w", err)
		}
		recs, err := quarantinedRecords(ctx, tx, positions)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			o, err := reapplyOne(ctx, tx, rec, apply)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, pgdb.Unavailable(err)
	}
	return out, nil
}

// quarantinedRecords reads the log records set aside at positions (every
// one when none are given) in log order.
func quarantinedRecords(ctx context.Context, tx *sql.Tx, positions []int64) ([]app.LogRecord, error) {
	query := `SELECT l."offset", l.transaction_id::text, l.created_at, l.payload
		FROM ctj_poison p JOIN ctj_log l ON (l.transaction_id, l."offset") = (p.log_transaction_id, p.position)`
	var args []any
	if len(positions) > 0 {
		query += ` WHERE p.position = ANY ($1)`
		args = append(args, pq.Array(positions))
	}
	rows, err := tx.QueryContext(ctx, query+` ORDER BY l.transaction_id, l."offset"`, args...)
	if err != nil {
		return nil, fmt.Errorf("read quarantined records: %w", err)
	}
	defer rows.Close()
	var recs []app.LogRecord
	for rows.Next() {
		var (
			rec app.LogRecord
			tx  string
		)
		if err := rows.Scan(&rec.Position, &tx, &rec.RecordedAt, &rec.Payload); err != nil {
			return nil, fmt.Errorf("read quarantined records: %w", err)
		}
		if _, err := fmt.Sscan(tx, &rec.TransactionID); err != nil {
			return nil, fmt.Errorf("record %d: transaction id %q: %w", rec.Position, tx, err)
		}
		rec.RecordedAt = rec.RecordedAt.UTC()
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read quarantined records: %w", err)
	}
	for _, p := range positions {
		if !slices.ContainsFunc(recs, func(r app.LogRecord) bool { return r.Position == p }) {
			return nil, &app.StateError{Message: fmt.Sprintf("no log record at position %d is set aside", p)}
		}
	}
	return recs, nil
}

// reapplyOne applies rec in a savepoint: applied, it leaves the
// quarantine; failed, it is undone and stays aside with its new error.
// An error of the store itself ends the whole retry.
func reapplyOne(ctx context.Context, tx *sql.Tx, rec app.LogRecord, apply func(ctx context.Context, rec app.LogRecord) error) (app.ReapplyOutcome, error) {
	o := app.ReapplyOutcome{Position: rec.Position}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT ctj_reapply`); err != nil {
		return o, err
	}
	failure := apply(pgdb.WithTx(ctx, tx), rec)
	if failure != nil && pgdb.StoreTrouble(failure) {
		return o, fmt.Errorf("apply record %d: %w", rec.Position, failure)
	}
	if failure != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT ctj_reapply; RELEASE SAVEPOINT ctj_reapply`); err != nil {
			return o, err
		}
		o.Error = ShortReason(failure.Error())
		_, err := tx.ExecContext(ctx, `UPDATE ctj_poison SET error = $2, created_at = now() AT TIME ZONE 'UTC' WHERE position = $1`,
			rec.Position, o.Error)
		return o, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM ctj_poison WHERE position = $1`, rec.Position); err != nil {
		return o, err
	}
	o.Applied = true
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT ctj_reapply`)
	return o, err
}

var _ app.Quarantine = (*Quarantine)(nil)
