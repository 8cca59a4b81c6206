package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"ctjournal/domain"
	"ctjournal/wire"
)

// loadOrder rebuilds one order's state (empty when unknown) from the
// tables, named through rename: its row, its events (their facts read from
// the log) and its decisions.
func loadOrder(ctx context.Context, q querier, rename func(string) string, orderID string) (domain.OrderState, error) {
	var (
		widgetID string
		version  sql.NullInt64
		placed   bool
		policy   sql.NullString
	)
	err := q.QueryRowContext(ctx, rename(`SELECT o.widget_id, o.policy_version, o.placed, pv.policy FROM ctj_orders o
		LEFT JOIN ctj_policy_versions pv ON pv.widget_id = o.widget_id AND pv.version = o.policy_version
		WHERE o.order_id = ?`), orderID).Scan(&widgetID, &version, &placed, &policy)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.OrderState{OrderID: orderID}, nil
	}
	if err != nil {
		return domain.OrderState{}, fmt.Errorf("load order %s: %w", orderID, err)
	}
	var placement *domain.Placement
	if placed {
		var p *domain.Policy
		if version.Int64 > 0 && policy.Valid {
			p = &domain.Policy{}
			if err := json.Unmarshal([]byte(policy.String), p); err != nil {
				return domain.OrderState{}, fmt.Errorf("decode policy of order %s: %w", orderID, err)
			}
		}
		pl, err := domain.PlacementFromStore(int(version.Int64), p)
		if err != nil {
			return domain.OrderState{}, fmt.Errorf("order %s: %w", orderID, err)
		}
		placement = &pl
	}
	events, err := loadEvents(ctx, q, rename, orderID)
	if err != nil {
		return domain.OrderState{}, err
	}
	decisions, _, err := loadDecisions(ctx, q, rename, orderID)
	if err != nil {
		return domain.OrderState{}, err
	}
	return domain.OrderStateFromStore(orderID, widgetID, placement, events, decisions)
}

// loadEvents are the order's events in fold order, each with its fact.
func loadEvents(ctx context.Context, q querier, rename func(string) string, orderID string) ([]domain.LoggedEvent, error) {
	rows, err := q.QueryContext(ctx, rename(`SELECT e.position, e.recorded_at, e.note, l.payload
		FROM ctj_order_events e JOIN ctj_log l ON l."offset" = e.position WHERE e.order_id = ? ORDER BY e.seq`), orderID)
	if err != nil {
		return nil, fmt.Errorf("load events of %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []domain.LoggedEvent
	for rows.Next() {
		var (
			pos        int64
			recordedAt stamp
			note       sql.NullString
			fact       []byte
		)
		if err := rows.Scan(&pos, &recordedAt, &note, &fact); err != nil {
			return nil, fmt.Errorf("load events of %s: %w", orderID, err)
		}
		e, err := wire.UnmarshalEvent(fact)
		if err != nil {
			return nil, fmt.Errorf("decode event %d: %w", pos, err)
		}
		out = append(out, domain.LoggedEvent{CallEvent: e, Position: pos, RecordedAt: recordedAt.Time, Note: note.String})
	}
	return out, rows.Err()
}

// loadDecisions are the order's decisions by attempt, with each lead's
// status by attempt.
func loadDecisions(ctx context.Context, q querier, rename func(string) string, orderID string) ([]domain.Decision, map[int]string, error) {
	rows, err := q.QueryContext(ctx, rename(`SELECT attempt, decision, key, reason, warnings, policy_version, payload,
		decided_at, decided_by, status FROM ctj_decisions WHERE order_id = ? ORDER BY attempt`), orderID)
	if err != nil {
		return nil, nil, fmt.Errorf("load decisions of %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []domain.Decision
	statuses := map[int]string{}
	for rows.Next() {
		var (
			d                domain.Decision
			key, payload     sql.NullString
			warnings, status string
			version          sql.NullInt64
			decidedAt        stamp
		)
		if err := rows.Scan(&d.Attempt, &d.Verdict, &key, &d.Reason, &warnings, &version, &payload, &decidedAt, &d.DecidedBy, &status); err != nil {
			return nil, nil, fmt.Errorf("load decisions of %s: %w", orderID, err)
		}
		d.Key, d.PolicyVersion, d.DecidedAt = domain.LeadKey(key.String), int(version.Int64), decidedAt.Time
		if err := json.Unmarshal([]byte(warnings), &d.Warnings); err != nil {
			return nil, nil, fmt.Errorf("decode warnings of %s/%d: %w", orderID, d.Attempt, err)
		}
		if len(d.Warnings) == 0 {
			d.Warnings = nil
		}
		if payload.Valid {
			d.Payload = &domain.Payload{}
			if err := json.Unmarshal([]byte(payload.String), d.Payload); err != nil {
				return nil, nil, fmt.Errorf("decode payload of %s/%d: %w", orderID, d.Attempt, err)
			}
		}
		out = append(out, d)
		statuses[d.Attempt] = status
	}
	return out, statuses, rows.Err()
}
