package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"ctjournal/app"
	"ctjournal/domain"
)

// Deliveries is the delivery worker's queue (app.DeliveryQueue). A claim
// is a lease written in the row (claimed_by, claimed_until): SQLite has no
// SKIP LOCKED, but a claim runs in one IMMEDIATE transaction, which no
// other writer of the file overlaps, so a lead is claimed by one owner.
type Deliveries struct{ s *Store }

func (d *Deliveries) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]app.ClaimedLead, error) {
	var out []app.ClaimedLead
	due := map[domain.LeadKey]time.Time{}
	err := d.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE ctj_deliveries SET claimed_by = ?, claimed_until = ?
			WHERE key IN (SELECT key FROM ctj_deliveries
				WHERE status = 'pending' AND next_attempt_at <= ? AND deadline_at > ?
					AND (claimed_until IS NULL OR claimed_until < ?)
				ORDER BY next_attempt_at LIMIT ?)
			RETURNING key, order_id, widget_id, payload, decided_at, tries, deadline_at, next_attempt_at`,
			owner, ts(leaseUntil), ts(now), ts(now), ts(now), limit)
		if err != nil {
			return unavailable(fmt.Errorf("claim leads: %w", err))
		}
		defer rows.Close()
		for rows.Next() {
			var (
				l                       app.ClaimedLead
				payload                 string
				decided, deadline, next stamp
			)
			if err := rows.Scan(&l.Key, &l.OrderID, &l.WidgetID, &payload, &decided, &l.Tries, &deadline, &next); err != nil {
				return fmt.Errorf("scan claimed lead: %w", err)
			}
			if err := json.Unmarshal([]byte(payload), &l.Payload); err != nil {
				return fmt.Errorf("decode payload of %s: %w", l.Key, err)
			}
			l.DecidedAt, l.DeadlineAt, due[l.Key] = decided.Time, deadline.Time, next.Time
			out = append(out, l)
		}
		return unavailable(rows.Err())
	})
	// RETURNING promises no order: the longest due first, as the
	// PostgreSQL store's claim.
	slices.SortStableFunc(out, func(a, b app.ClaimedLead) int { return due[a.Key].Compare(due[b.Key]) })
	return out, err
}

// RecordTry moves the lead on and appends the try to the log, in one
// transaction. The try's record has an id made of the try itself, so a try
// recorded twice is stored once.
func (d *Deliveries) RecordTry(ctx context.Context, owner string, try app.DeliveryTried, nextAttempt time.Time) error {
	id := tryRecordID(owner, try)
	return d.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log WHERE uuid = ?`, id).Scan(&known); err != nil {
			return unavailable(fmt.Errorf("look for try %s: %w", id, err))
		}
		if known > 0 {
			return nil
		}
		status := queueStatus(try.Outcome)
		if _, err := tx.ExecContext(ctx, `UPDATE ctj_deliveries SET tries = tries + 1, status = ?1, next_attempt_at = ?2,
				delivered_at = CASE WHEN ?1 = 'delivered' THEN ?3 ELSE delivered_at END,
				claimed_until = CASE WHEN claimed_by = ?4 THEN NULL ELSE claimed_until END,
				claimed_by = CASE WHEN claimed_by = ?4 THEN NULL ELSE claimed_by END
			WHERE key = ?5 AND (status = 'pending' OR (?1 = 'delivered' AND status <> 'delivered'))`,
			status, ts(nextAttempt), ts(try.At), owner, string(try.Key)); err != nil {
			return unavailable(fmt.Errorf("move lead %s on: %w", try.Key, err))
		}
		m, err := recordWithID(id, try)
		if err != nil {
			return err
		}
		return unavailable(publish(ctx, tx, m))
	})
}

func queueStatus(o domain.TryOutcome) string {
	if s := app.StatusAfterTry(o); s != "" {
		return s
	}
	return app.StatusPending
}

var tryNamespace = uuid.MustParse("6f0c7e52-4c1d-4b8e-9a2f-2d9b1c7e5a10")

// tryRecordID names a try's log record after the try (owner, lead, try
// number, time).
func tryRecordID(owner string, t app.DeliveryTried) string {
	return uuid.NewSHA1(tryNamespace, fmt.Appendf(nil, "%s\n%s\n%d\n%s", owner, t.Key, t.Try, t.At.UTC().Format(time.RFC3339Nano))).String()
}

// expiredLead selects the pending leads past their deadline (?1) that no
// live claim holds.
const expiredLead = `status = 'pending' AND deadline_at <= ?1 AND (claimed_until IS NULL OR claimed_until < ?1)`

func (d *Deliveries) GiveUpExpired(ctx context.Context, now time.Time) (int, error) {
	var expired int
	if err := d.s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM ctj_deliveries WHERE `+expiredLead, ts(now)).Scan(&expired); err != nil {
		return 0, unavailable(fmt.Errorf("look for expired leads: %w", err))
	}
	if expired == 0 {
		return 0, nil
	}
	n := 0
	err := d.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE ctj_deliveries SET status = 'failed', claimed_by = NULL, claimed_until = NULL
			WHERE `+expiredLead+` RETURNING key, order_id, widget_id, tries`, ts(now))
		if err != nil {
			return unavailable(fmt.Errorf("give up expired leads: %w", err))
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
			m, err := record(g)
			if err != nil {
				rows.Close()
				return err
			}
			msgs = append(msgs, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(msgs) == 0 {
			return unavailable(err)
		}
		n = len(msgs)
		return unavailable(publish(ctx, tx, msgs...))
	})
	return n, err
}

func (d *Deliveries) Redeliver(ctx context.Context, key domain.LeadKey, now, deadline time.Time) error {
	err := d.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		r := app.RedeliveryRequested{Type: app.TypeRedeliveryRequested, Key: key, At: now}
		var status string
		err := tx.QueryRowContext(ctx, `SELECT order_id, widget_id, status FROM ctj_deliveries WHERE key = ?`, string(key)).
			Scan(&r.OrderID, &r.WidgetID, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return app.ErrNotFound
		}
		if err != nil {
			return unavailable(fmt.Errorf("look up lead %s: %w", key, err))
		}
		if err := app.CheckRedeliverable(key, status); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ctj_deliveries SET status = 'pending', next_attempt_at = ?, deadline_at = ?,
				claimed_by = NULL, claimed_until = NULL WHERE key = ?`, ts(now), ts(deadline), string(key)); err != nil {
			return unavailable(fmt.Errorf("requeue lead %s: %w", key, err))
		}
		m, err := record(r)
		if err != nil {
			return err
		}
		return unavailable(publish(ctx, tx, m))
	})
	if err == nil {
		d.s.pokeDeliveries()
	}
	return err
}

func (d *Deliveries) Release(ctx context.Context, owner string, key domain.LeadKey) error {
	return d.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE ctj_deliveries SET claimed_by = NULL, claimed_until = NULL
			WHERE key = ? AND claimed_by = ?`, string(key), owner)
		return unavailable(err)
	})
}
