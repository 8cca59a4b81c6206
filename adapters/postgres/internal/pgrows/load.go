// Package pgrows is the read models' row shapes that the live projection,
// the rebuild and the queries all read: an order's state loaded back
// through domain constructors, decision and event rows, a send
// decision's lead state, policy placements.
package pgrows

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// loadOrder rebuilds one order's state (empty when unknown).
func LoadOrder(ctx context.Context, q pgdb.Querier, orderID string) (domain.OrderState, error) {
	orders, err := LoadOrders(ctx, q, `SELECT unnest($1::text[])`, pq.Array([]string{orderID}))
	return orders[orderID], err
}

// loadOrders rebuilds the states of the orders whose ids the query ids
// selects, in one round trip: per-order reads, never the whole log. An id
// with no order yet maps to an empty state.
func LoadOrders(ctx context.Context, q pgdb.Querier, ids string, args ...any) (map[string]domain.OrderState, error) {
	rows, err := q.QueryContext(ctx, `WITH ids (order_id) AS (`+ids+`)
		SELECT ids.order_id, o.widget_id, o.policy_version, COALESCE(o.placed, false), o.policy,
			(SELECT json_agg(json_build_object('position', e.position, 'recorded_at', e.recorded_at,
				'note', e.note, 'fact', `+FactOf("ctj_log")+`) ORDER BY e.seq) FROM ctj_order_events e WHERE e.order_id = o.order_id),
			(SELECT json_agg(json_build_object('attempt', d.attempt, 'verdict', d.decision, 'key', d.key,
				'reason', d.reason, 'warnings', d.warnings, 'policy_version', d.policy_version, 'payload', d.payload,
				'decided_at', d.decided_at, 'decided_by', d.decided_by) ORDER BY d.attempt)
				FROM ctj_decisions d WHERE d.order_id = o.order_id)
		FROM ids LEFT JOIN LATERAL (
			-- LIMIT keeps this a lookup per id, whatever the table
			-- statistics say (a hash join would scan every order).
			SELECT o.*, pv.policy FROM ctj_orders o
			LEFT JOIN ctj_policy_versions pv ON pv.widget_id = o.widget_id AND pv.version = o.policy_version
			WHERE o.order_id = ids.order_id LIMIT 1) o ON true`, args...)
	if err != nil {
		return nil, fmt.Errorf("load orders: %w", err)
	}
	defer rows.Close()
	out := map[string]domain.OrderState{}
	for rows.Next() {
		s, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out[s.OrderID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load orders: %w", err)
	}
	return out, nil
}

// scanOrder reads one order's row and hands it to the domain, which checks
// it is a state Fold could have built.
func scanOrder(rows *sql.Rows) (domain.OrderState, error) {
	var (
		orderID                 string
		widgetID                sql.NullString
		version                 sql.NullInt64
		placed                  bool
		policy, events, choices []byte
	)
	if err := rows.Scan(&orderID, &widgetID, &version, &placed, &policy, &events, &choices); err != nil {
		return domain.OrderState{}, fmt.Errorf("load orders: %w", err)
	}
	var placement *domain.Placement
	if placed {
		var p *domain.Policy
		if policy != nil {
			p = &domain.Policy{}
			if err := json.Unmarshal(policy, p); err != nil {
				return domain.OrderState{}, fmt.Errorf("decode policy of order %s: %w", orderID, err)
			}
		}
		at, err := domain.PlacementFromStore(int(version.Int64), p)
		if err != nil {
			return domain.OrderState{}, fmt.Errorf("load order %s: %w", orderID, err)
		}
		placement = &at
	}
	facts, err := decodeEvents(events)
	if err != nil {
		return domain.OrderState{}, fmt.Errorf("events of order %s: %w", orderID, err)
	}
	decisions, err := decodeDecisions(choices)
	if err != nil {
		return domain.OrderState{}, fmt.Errorf("decisions of order %s: %w", orderID, err)
	}
	return domain.OrderStateFromStore(orderID, widgetID.String, placement, facts, decisions)
}

func decodeEvents(agg []byte) ([]domain.LoggedEvent, error) {
	var rows []struct {
		Position   int64           `json:"position"`
		RecordedAt time.Time       `json:"recorded_at"`
		Note       *string         `json:"note"`
		Fact       json.RawMessage `json:"fact"`
	}
	if err := unmarshalAgg(agg, &rows); err != nil {
		return nil, err
	}
	out := make([]domain.LoggedEvent, 0, len(rows))
	for _, r := range rows {
		e, err := wire.UnmarshalEvent(r.Fact)
		if err != nil {
			return nil, fmt.Errorf("decode event %d: %w", r.Position, err)
		}
		le := domain.LoggedEvent{CallEvent: e, Position: r.Position, RecordedAt: r.RecordedAt.UTC()}
		if r.Note != nil {
			le.Note = *r.Note
		}
		out = append(out, le)
	}
	return out, nil
}

func decodeDecisions(agg []byte) ([]domain.Decision, error) {
	var rows []struct {
		Attempt       int             `json:"attempt"`
		Verdict       domain.Verdict  `json:"verdict"`
		Key           *domain.LeadKey `json:"key"`
		Reason        string          `json:"reason"`
		Warnings      []string        `json:"warnings"`
		PolicyVersion *int            `json:"policy_version"`
		Payload       *domain.Payload `json:"payload"`
		DecidedAt     time.Time       `json:"decided_at"`
		DecidedBy     string          `json:"decided_by"`
	}
	if err := unmarshalAgg(agg, &rows); err != nil {
		return nil, err
	}
	out := make([]domain.Decision, 0, len(rows))
	for _, r := range rows {
		d := domain.Decision{Attempt: r.Attempt, Verdict: r.Verdict, Reason: r.Reason, Payload: r.Payload,
			DecidedAt: r.DecidedAt.UTC(), DecidedBy: r.DecidedBy}
		if r.Key != nil {
			d.Key = *r.Key
		}
		if len(r.Warnings) > 0 {
			d.Warnings = r.Warnings
		}
		if r.PolicyVersion != nil {
			d.PolicyVersion = *r.PolicyVersion
		}
		out = append(out, d)
	}
	return out, nil
}

// unmarshalAgg decodes a json_agg result; NULL (no rows) decodes to nothing.
func unmarshalAgg(agg []byte, v any) error {
	if agg == nil {
		return nil
	}
	return json.Unmarshal(agg, v)
}

// orderedFact is the order's first call.ordered, the one that stands.
func OrderedFact(s domain.OrderState) *domain.LoggedEvent {
	for i := range s.Events {
		if s.Events[i].Type == domain.CallOrdered {
			return &s.Events[i]
		}
	}
	return nil
}

var StatusOf = map[domain.Verdict]string{
	domain.Send: app.StatusPending,
	domain.Skip: app.StatusSkipped,
	domain.Wait: app.StatusWaiting,
}
