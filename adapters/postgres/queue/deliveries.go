// Package queue is the delivery queue: claims and their leases, tries
// recorded in groups, give-ups and redeliveries, the per-site rate, and
// the queue's vacuum.
package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/domain"
)

// Deliveries is the delivery worker's queue (app.DeliveryQueue). A claim is
// a lease written in the row, not a lock held open: no transaction stays
// open while Calltouch is asked, and a crashed process's claims lapse.
type Deliveries struct {
	db    *sql.DB
	stmts *pgdb.Statements
	tries *tryRecorder
}

func NewDeliveries(db *sql.DB) *Deliveries {
	stmts := pgdb.NewStatements(db)
	return &Deliveries{db: db, stmts: stmts, tries: &tryRecorder{db: db, stmts: stmts, sweeper: newQueueSweeper(db)}}
}

func (d *Deliveries) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]app.ClaimedLead, error) {
	rows, err := d.stmts.QueryContext(ctx, `UPDATE ctj_deliveries d SET claimed_by = $1, claimed_until = $3
		FROM (SELECT key FROM ctj_deliveries
			WHERE status = 'pending' AND next_attempt_at <= $2 AND deadline_at > $2
				AND (claimed_until IS NULL OR claimed_until < $2)
			ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) due
		WHERE d.key = due.key
		RETURNING d.key, d.order_id, d.widget_id, d.payload, d.decided_at, d.tries, d.deadline_at`,
		owner, now, leaseUntil, limit)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("claim leads: %w", err))
	}
	defer rows.Close()
	var out []app.ClaimedLead
	for rows.Next() {
		var (
			l       app.ClaimedLead
			payload []byte
		)
		if err := rows.Scan(&l.Key, &l.OrderID, &l.WidgetID, &payload, &l.DecidedAt, &l.Tries, &l.DeadlineAt); err != nil {
			return nil, fmt.Errorf("scan claimed lead: %w", err)
		}
		if err := json.Unmarshal(payload, &l.Payload); err != nil {
			return nil, fmt.Errorf("decode payload of %s: %w", l.Key, err)
		}
		out = append(out, l)
	}
	return out, pgdb.Unavailable(rows.Err())
}

// RecordTry records the try together with the tries of other deliveries
// finishing meanwhile (tryRecorder).
func (d *Deliveries) RecordTry(ctx context.Context, owner string, try app.DeliveryTried, nextAttempt time.Time) error {
	return d.tries.record(ctx, owner, try, nextAttempt)
}

// expiredLead selects the pending leads past their deadline ($1) that no
// live claim holds.
const expiredLead = `status = 'pending' AND deadline_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)`

func (d *Deliveries) GiveUpExpired(ctx context.Context, now time.Time) (int, error) {
	// Every delivery round asks; a transaction only when there is some.
	var expired bool
	if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ctj_deliveries WHERE `+expiredLead+`)`, now).Scan(&expired); err != nil {
		return 0, pgdb.Unavailable(fmt.Errorf("look for expired leads: %w", err))
	}
	if !expired {
		return 0, nil
	}
	n := 0
	err := pgdb.InTx(ctx, d.db, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE ctj_deliveries SET status = 'failed', claimed_by = NULL, claimed_until = NULL
			WHERE key IN (SELECT key FROM ctj_deliveries WHERE `+expiredLead+` FOR UPDATE SKIP LOCKED)
			RETURNING key, order_id, widget_id, tries`, now)
		if err != nil {
			return fmt.Errorf("give up expired leads: %w", err)
		}
		var msgs []*message.Message
		for rows.Next() {
			g := app.LeadGivenUp{Type: app.TypeLeadGivenUp, At: now}
			var tries int
			if err := rows.Scan(&g.Key, &g.OrderID, &g.WidgetID, &tries); err != nil {
				rows.Close()
				return err
			}
			g.Reason = app.GiveUpReason(tries)
			m, err := pgdb.Record(g)
			if err != nil {
				rows.Close()
				return err
			}
			msgs = append(msgs, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(msgs) == 0 {
			return err
		}
		n = len(msgs)
		return pgdb.Publish(ctx, tx, msgs...)
	})
	return n, err
}

func (d *Deliveries) Redeliver(ctx context.Context, key domain.LeadKey, now, deadline time.Time) error {
	return pgdb.InTx(ctx, d.db, func(ctx context.Context, tx *sql.Tx) error {
		r := app.RedeliveryRequested{Type: app.TypeRedeliveryRequested, Key: key, At: now}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT order_id, widget_id, status FROM ctj_deliveries WHERE key = $1 FOR UPDATE`, string(key)).
			Scan(&r.OrderID, &r.WidgetID, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return app.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("look up lead %s: %w", key, err)
		}
		if err := app.CheckRedeliverable(key, status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ctj_deliveries SET status = 'pending', next_attempt_at = $2, deadline_at = $3,
				claimed_by = NULL, claimed_until = NULL WHERE key = $1`, string(key), now, deadline); err != nil {
			return fmt.Errorf("requeue lead %s: %w", key, err)
		}
		m, err := pgdb.Record(r)
		if err != nil {
			return err
		}
		if err := pgdb.Publish(ctx, tx, m); err != nil {
			return err
		}
		return pgdb.Notify(ctx, tx, pgdb.ChannelDeliveries)
	})
}

func (d *Deliveries) Release(ctx context.Context, owner string, key domain.LeadKey) error {
	_, err := d.db.ExecContext(ctx, `UPDATE ctj_deliveries SET claimed_by = NULL, claimed_until = NULL
		WHERE key = $1 AND claimed_by = $2`, string(key), owner)
	if err != nil {
		return pgdb.Unavailable(fmt.Errorf("release lead %s: %w", key, err))
	}
	return nil
}
