package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// loadOrder rebuilds an order's state from its rows: per-order reads, never
// the whole log.
func loadOrder(ctx context.Context, q querier, orderID string) (domain.OrderState, error) {
	s := domain.OrderState{OrderID: orderID}
	var (
		version sql.NullInt64
		placed  bool
	)
	err := q.QueryRowContext(ctx, `SELECT widget_id, policy_version, placed FROM ctj_orders WHERE order_id = $1`, orderID).
		Scan(&s.WidgetID, &version, &placed)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("load order %s: %w", orderID, err)
	}
	if placed {
		p := domain.Placement{}
		if version.Int64 > 0 {
			if p, err = placementAt(ctx, q, s.WidgetID, `AND version = $2`, version.Int64); err != nil {
				return s, err
			}
		}
		s.Placement = &p
	}
	if s.Events, err = loadEvents(ctx, q, orderID); err != nil {
		return s, err
	}
	s.Decisions, err = loadDecisions(ctx, q, orderID)
	return s, err
}

func loadEvents(ctx context.Context, q querier, orderID string) ([]domain.LoggedEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT position, recorded_at, COALESCE(note, ''), fact FROM ctj_order_events WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load events of order %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []domain.LoggedEvent
	for rows.Next() {
		var (
			e    domain.LoggedEvent
			fact []byte
		)
		if err := rows.Scan(&e.Position, &e.RecordedAt, &e.Note, &fact); err != nil {
			return nil, fmt.Errorf("scan event of order %s: %w", orderID, err)
		}
		if e.CallEvent, err = domain.UnmarshalEvent(fact); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", e.Position, err)
		}
		e.RecordedAt = e.RecordedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func loadDecisions(ctx context.Context, q querier, orderID string) ([]domain.Decision, error) {
	rows, err := q.QueryContext(ctx, `SELECT attempt, decision, COALESCE(key, ''), reason, warnings, COALESCE(policy_version, 0),
		payload, decided_at, decided_by FROM ctj_decisions WHERE order_id = $1 ORDER BY attempt`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load decisions of order %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []domain.Decision
	for rows.Next() {
		var (
			d                 domain.Decision
			warnings, payload []byte
		)
		if err := rows.Scan(&d.Attempt, &d.Verdict, &d.Key, &d.Reason, &warnings, &d.PolicyVersion, &payload, &d.DecidedAt, &d.DecidedBy); err != nil {
			return nil, fmt.Errorf("scan decision of order %s: %w", orderID, err)
		}
		d.DecidedAt = d.DecidedAt.UTC()
		if err := json.Unmarshal(warnings, &d.Warnings); err != nil {
			return nil, fmt.Errorf("decode warnings of order %s: %w", orderID, err)
		}
		if len(d.Warnings) == 0 {
			d.Warnings = nil
		}
		if payload != nil {
			d.Payload = &domain.Payload{}
			if err := json.Unmarshal(payload, d.Payload); err != nil {
				return nil, fmt.Errorf("decode payload of order %s: %w", orderID, err)
			}
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// storeChange writes what one fold changed: the order row, the event, and
// the decisions added or re-decided (a final decision is never overwritten).
func storeChange(ctx context.Context, q querier, c *app.OrderChange) error {
	s, e := c.State, c.Event
	var (
		version                *int
		kind                   *string
		hasSession             *bool
		orderedAt, scheduledAt *time.Time
	)
	if s.Placement != nil {
		version = &s.Placement.Version
	}
	if o := orderedFact(s); o != nil {
		k := string(o.Order.Kind)
		has := o.Order.SessionID != ""
		kind, hasSession, orderedAt, scheduledAt = &k, &has, &o.OccurredAt, o.Order.ScheduledAt
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO ctj_orders (order_id, widget_id, policy_version, placed, kind, has_session_id,
			ordered_at, scheduled_at, first_position, last_position)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (order_id) DO UPDATE SET policy_version = excluded.policy_version, placed = excluded.placed,
			kind = excluded.kind, has_session_id = excluded.has_session_id, ordered_at = excluded.ordered_at,
			scheduled_at = excluded.scheduled_at, last_position = excluded.last_position`,
		s.OrderID, s.WidgetID, version, s.Placement != nil, kind, hasSession, orderedAt, scheduledAt, e.Position); err != nil {
		return fmt.Errorf("store order %s: %w", s.OrderID, err)
	}
	fact, err := domain.MarshalEvent(e.CallEvent)
	if err != nil {
		return err
	}
	var attempt *int
	if e.Attempt > 0 {
		attempt = &e.Attempt
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO ctj_order_events (position, event_id, order_id, widget_id, type, attempt,
			occurred_at, recorded_at, note, fact) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), $10) ON CONFLICT DO NOTHING`,
		e.Position, e.EventID, e.OrderID, e.WidgetID, string(e.Type), attempt, e.OccurredAt, e.RecordedAt, e.Note, string(fact)); err != nil {
		return fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	for _, d := range c.Step.Changed {
		if err := storeDecision(ctx, q, s, d); err != nil {
			return err
		}
	}
	return nil
}

// orderedFact is the order's first call.ordered, the one that stands.
func orderedFact(s domain.OrderState) *domain.LoggedEvent {
	for i := range s.Events {
		if s.Events[i].Type == domain.CallOrdered {
			return &s.Events[i]
		}
	}
	return nil
}

var statusOf = map[domain.Verdict]string{
	domain.Send: app.StatusPending,
	domain.Skip: app.StatusSkipped,
	domain.Wait: app.StatusWaiting,
}

func storeDecision(ctx context.Context, q querier, s domain.OrderState, d domain.Decision) error {
	var key *string
	if d.Key != "" {
		k := string(d.Key)
		key = &k
	}
	warnings := d.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	wj, err := json.Marshal(warnings)
	if err != nil {
		return err
	}
	var payload *string
	if d.Payload != nil {
		b, err := json.Marshal(d.Payload)
		if err != nil {
			return err
		}
		payload = ptr(string(b))
	}
	var version *int // NULL: no policy governed the decision
	if d.PolicyVersion > 0 {
		version = &d.PolicyVersion
	}
	_, err = q.ExecContext(ctx, `INSERT INTO ctj_decisions (order_id, widget_id, attempt, decision, key, reason, warnings,
			policy_version, payload, decided_at, decided_by, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (order_id, attempt) DO UPDATE SET decision = excluded.decision, key = excluded.key,
			reason = excluded.reason, warnings = excluded.warnings, policy_version = excluded.policy_version,
			payload = excluded.payload, decided_at = excluded.decided_at, decided_by = excluded.decided_by,
			status = excluded.status
		WHERE ctj_decisions.decision = 'wait'`,
		s.OrderID, s.WidgetID, d.Attempt, string(d.Verdict), key, d.Reason, string(wj), version, payload, d.DecidedAt, d.DecidedBy, statusOf[d.Verdict])
	if err != nil {
		return fmt.Errorf("store decision on order %s attempt %d: %w", s.OrderID, d.Attempt, err)
	}
	return nil
}
