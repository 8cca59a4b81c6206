package storecopy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// Target is an empty store a copy is written into (app.StoreTarget). Its
// schema must be migrated.
type Target struct{ db *sql.DB }

func NewTarget(db *sql.DB) *Target { return &Target{db: db} }

// StartImport refuses a store whose log or write side holds anything.
func (t *Target) StartImport(ctx context.Context) (app.StoreImport, error) {
	var records, policies int64
	err := t.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ctj_log), (SELECT count(*) FROM ctj_widget_policies)`).
		Scan(&records, &policies)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("look into the target: %w", err))
	}
	if records > 0 || policies > 0 {
		return nil, &app.StateError{Message: fmt.Sprintf(
			"the target store is not empty (its log holds %d records, %d widgets have a policy): copy-store writes only into an empty store",
			records, policies)}
	}
	return &storeImport{db: t.db}, nil
}

// storeImport writes one copy (app.StoreImport).
type storeImport struct{ db *sql.DB }

// WriteLog copies records with COPY, each at its own offset. The target
// orders its log by (transaction_id, offset) as the source did: records
// go in one transaction while their offsets rise, and a record whose
// offset is below the one before it (the source committed it in a later
// transaction) starts the next transaction, which sorts after.
func (s *storeImport) WriteLog(ctx context.Context, recs []app.CopiedRecord) error {
	for len(recs) > 0 {
		n := 1
		for n < len(recs) && recs[n].Position > recs[n-1].Position {
			n++
		}
		if err := s.copyLog(ctx, recs[:n]); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

func (s *storeImport) copyLog(ctx context.Context, recs []app.CopiedRecord) error {
	return pgdb.InTx(ctx, s.db, func(ctx context.Context, tx *sql.Tx) error {
		var xid string
		if err := tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
			return fmt.Errorf("start the log's transaction: %w", err)
		}
		return copyRows(ctx, tx, "ctj_log", []string{"offset", "uuid", "created_at", "payload", "metadata", "transaction_id"}, len(recs),
			func(i int) []any {
				r := recs[i]
				var metadata any
				if r.Metadata != nil {
					metadata = string(r.Metadata)
				}
				// created_at is a timestamp without time zone, in UTC.
				return []any{r.Position, r.UUID, r.RecordedAt.UTC().Format("2006-01-02 15:04:05.999999"), string(r.Payload), metadata, xid}
			})
	})
}

func (s *storeImport) WritePolicies(ctx context.Context, policies []app.StoredPolicy) error {
	bodies := make([]string, len(policies))
	for i, p := range policies {
		b, err := json.Marshal(p.Policy)
		if err != nil {
			return fmt.Errorf("encode policy of widget %s: %w", p.WidgetID, err)
		}
		bodies[i] = string(b)
	}
	return pgdb.InTx(ctx, s.db, func(ctx context.Context, tx *sql.Tx) error {
		return copyRows(ctx, tx, "ctj_widget_policies", []string{"widget_id", "version", "policy", "updated_at"}, len(policies),
			func(i int) []any {
				p := policies[i]
				return []any{p.WidgetID, p.Version, bodies[i], p.UpdatedAt}
			})
	})
}

func (s *storeImport) WriteOrderWidgets(ctx context.Context, ties []app.OrderWidget) error {
	return pgdb.InTx(ctx, s.db, func(ctx context.Context, tx *sql.Tx) error {
		return copyRows(ctx, tx, "ctj_order_widgets", []string{"order_id", "widget_id"}, len(ties),
			func(i int) []any { return []any{ties[i].OrderID, ties[i].WidgetID} })
	})
}

// SetAside quarantines the records at their positions with the error
// they were set aside for, as the projection would (quarantine package).
func (s *storeImport) SetAside(ctx context.Context, recs []app.QuarantinedRecord) error {
	return pgdb.InTx(ctx, s.db, func(ctx context.Context, tx *sql.Tx) error {
		for _, r := range recs {
			meta, err := json.Marshal(map[string]string{"reason_poisoned": r.Error})
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO ctj_poison (uuid, payload, metadata, transaction_id, created_at,
					position, log_transaction_id, order_id, error)
				SELECT l.uuid, l.payload, $2::json, pg_current_xact_id(), $3, l."offset", l.transaction_id, NULLIF($4, ''), $5
				FROM ctj_log l WHERE l."offset" = $1`,
				r.Position, string(meta), r.At.UTC().Format("2006-01-02 15:04:05.999999"), r.OrderID, r.Error)
			if err != nil {
				return fmt.Errorf("set record %d aside: %w", r.Position, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("set record %d aside: the copied log has no record there (%v)", r.Position, err)
			}
		}
		return nil
	})
}

// SealLog moves the log's offset sequence past the copied records and
// puts the projection's offset at the last one.
func (s *storeImport) SealLog(ctx context.Context) error {
	err := pgdb.InTx(ctx, s.db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('ctj_log', 'offset'),
			COALESCE((SELECT max("offset") FROM ctj_log), 0) + 1, false)`); err != nil {
			return fmt.Errorf("move the log's sequence on: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_log_offsets (consumer_group, offset_acked, last_processed_transaction_id)
			SELECT $1, "offset", transaction_id FROM ctj_log ORDER BY transaction_id DESC, "offset" DESC LIMIT 1
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked,
				last_processed_transaction_id = excluded.last_processed_transaction_id`, pgdb.ProjectionConsumerGroup); err != nil {
			return fmt.Errorf("move the projection's offset to the log's end: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.awaitVisible(ctx)
}

// awaitVisible waits until every transaction older than the copy's last
// has ended, anywhere on the server: the log's readers (the rebuild, the
// projection) read only transactions below every snapshot's xmin.
func (s *storeImport) awaitVisible(ctx context.Context) error {
	for {
		var visible bool
		err := s.db.QueryRowContext(ctx, `SELECT COALESCE(max(transaction_id) < pg_snapshot_xmin(pg_current_snapshot()), true) FROM ctj_log`).Scan(&visible)
		if err != nil {
			return fmt.Errorf("wait for the copied log to be readable: %w", err)
		}
		if visible {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// QueueLeads queues every lead the rebuilt read models decided "send",
// with the status and tries its history in the log gave it (the rebuild
// folded every try, give-up and redelivery): delivered and failed leads
// are never tried again, pending ones are due at now. A lead's give-up
// deadline counts from its decision, or from its last redelivery request.
func (s *storeImport) QueueLeads(ctx context.Context, giveUpAfter time.Duration, now time.Time) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `WITH queued AS (
			INSERT INTO ctj_deliveries (key, order_id, widget_id, payload, status, tries, decided_at, deadline_at,
				next_attempt_at, delivered_at)
			SELECT d.key, d.order_id, d.widget_id, d.payload, d.status, d.tries, d.decided_at,
				greatest(d.decided_at, r.at) + make_interval(secs => $1), $2, d.delivered_at
			FROM ctj_decisions d
			LEFT JOIN LATERAL (SELECT max(t.at) AS at FROM ctj_delivery_tries t
				WHERE t.key = d.key AND t.outcome = $3) r ON true
			WHERE d.decision = 'send' AND d.key IS NOT NULL
			RETURNING status)
		SELECT status, count(*) FROM queued GROUP BY status`, giveUpAfter.Seconds(), now.UTC(), app.LeadRedeliveryRequestedEvent)
	if err != nil {
		return nil, fmt.Errorf("queue the leads: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("queue the leads: %w", err)
		}
		out[status] = n
	}
	return out, rows.Err()
}

// copyTables are the tables a copy writes, directly or through the
// rebuild and the queue.
const copyTables = `ctj_log, ctj_log_offsets, ctj_poison, ctj_widget_policies, ctj_order_widgets, ctj_deliveries,
	ctj_policy_versions, ctj_orders, ctj_order_events, ctj_decisions, ctj_delivery_tries`

// Abort empties every table the copy wrote, sequences restarted.
func (s *storeImport) Abort(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `TRUNCATE `+copyTables+` RESTART IDENTITY`); err != nil {
		return fmt.Errorf("empty the target: %w", err)
	}
	return nil
}

// copyRows writes n rows into table with COPY, row(i) giving the i-th.
func copyRows(ctx context.Context, tx *sql.Tx, table string, columns []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, columns...))
	if err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return fmt.Errorf("copy into %s: %w", table, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy into %s: %w", table, err)
	}
	return nil
}
