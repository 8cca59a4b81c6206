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

// loadOrder rebuilds an order's state from its rows in one round trip:
// per-order reads, never the whole log.
func loadOrder(ctx context.Context, q querier, orderID string) (domain.OrderState, error) {
	s := domain.OrderState{OrderID: orderID}
	var (
		version                 sql.NullInt64
		placed                  bool
		policy, events, choices []byte
	)
	err := q.QueryRowContext(ctx, `SELECT o.widget_id, o.policy_version, o.placed, pv.policy,
			(SELECT json_agg(json_build_object('position', e.position, 'recorded_at', e.recorded_at,
				'note', e.note, 'fact', e.fact) ORDER BY e.seq) FROM ctj_order_events e WHERE e.order_id = o.order_id),
			(SELECT json_agg(json_build_object('attempt', d.attempt, 'verdict', d.decision, 'key', d.key,
				'reason', d.reason, 'warnings', d.warnings, 'policy_version', d.policy_version, 'payload', d.payload,
				'decided_at', d.decided_at, 'decided_by', d.decided_by) ORDER BY d.attempt)
				FROM ctj_decisions d WHERE d.order_id = o.order_id)
		FROM ctj_orders o LEFT JOIN ctj_policy_versions pv ON pv.widget_id = o.widget_id AND pv.version = o.policy_version
		WHERE o.order_id = $1`, orderID).Scan(&s.WidgetID, &version, &placed, &policy, &events, &choices)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("load order %s: %w", orderID, err)
	}
	if placed {
		p := domain.Placement{}
		if version.Int64 > 0 && policy != nil {
			p.Version, p.Policy = int(version.Int64), &domain.Policy{}
			if err := json.Unmarshal(policy, p.Policy); err != nil {
				return s, fmt.Errorf("decode policy of order %s: %w", orderID, err)
			}
		}
		s.Placement = &p
	}
	if s.Events, err = decodeEvents(events); err != nil {
		return s, fmt.Errorf("events of order %s: %w", orderID, err)
	}
	if s.Decisions, err = decodeDecisions(choices); err != nil {
		return s, fmt.Errorf("decisions of order %s: %w", orderID, err)
	}
	return s, nil
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
		e, err := domain.UnmarshalEvent(r.Fact)
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
	fact, err := domain.MarshalEvent(e.CallEvent)
	if err != nil {
		return err
	}
	var attempt *int
	if e.Attempt > 0 {
		attempt = &e.Attempt
	}
	decisions, err := decisionRows(c.Step.Changed)
	if err != nil {
		return err
	}
	// One statement, one round trip: the order, its event, its decisions.
	if _, err := q.ExecContext(ctx, `WITH ord AS (
			INSERT INTO ctj_orders (order_id, widget_id, policy_version, placed, kind, has_session_id,
				ordered_at, scheduled_at, first_position, last_position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
			ON CONFLICT (order_id) DO UPDATE SET policy_version = excluded.policy_version, placed = excluded.placed,
				kind = excluded.kind, has_session_id = excluded.has_session_id, ordered_at = excluded.ordered_at,
				scheduled_at = excluded.scheduled_at, last_position = excluded.last_position
		), ev AS (
			INSERT INTO ctj_order_events (position, event_id, order_id, widget_id, type, attempt,
				occurred_at, recorded_at, note, fact)
			VALUES ($9, $10, $1, $2, $11, $12, $13, $14, NULLIF($15, ''), $16) ON CONFLICT DO NOTHING
		)
		INSERT INTO ctj_decisions (order_id, widget_id, attempt, decision, key, reason, warnings,
			policy_version, payload, decided_at, decided_by, status)
		SELECT $1, $2, x.attempt, x.decision, x.key, x.reason, x.warnings, x.policy_version, x.payload,
			x.decided_at, x.decided_by, x.status
		FROM json_to_recordset($17::json) AS x(attempt int, decision text, key text, reason text, warnings jsonb,
			policy_version int, payload jsonb, decided_at timestamptz, decided_by uuid, status text)
		ON CONFLICT (order_id, attempt) DO UPDATE SET decision = excluded.decision, key = excluded.key,
			reason = excluded.reason, warnings = excluded.warnings, policy_version = excluded.policy_version,
			payload = excluded.payload, decided_at = excluded.decided_at, decided_by = excluded.decided_by,
			status = excluded.status
		WHERE ctj_decisions.decision = 'wait'`,
		s.OrderID, s.WidgetID, version, s.Placement != nil, kind, hasSession, orderedAt, scheduledAt, e.Position,
		e.EventID, string(e.Type), attempt, e.OccurredAt, e.RecordedAt, e.Note, string(fact), decisions); err != nil {
		return fmt.Errorf("store event %s of order %s: %w", e.EventID, s.OrderID, err)
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

// decisionRow is one ctj_decisions row as storeChange passes it.
type decisionRow struct {
	Attempt       int             `json:"attempt"`
	Decision      domain.Verdict  `json:"decision"`
	Key           *domain.LeadKey `json:"key"`
	Reason        string          `json:"reason"`
	Warnings      []string        `json:"warnings"`
	PolicyVersion *int            `json:"policy_version"` // NULL: no policy governed it
	Payload       *domain.Payload `json:"payload"`
	DecidedAt     time.Time       `json:"decided_at"`
	DecidedBy     string          `json:"decided_by"`
	Status        string          `json:"status"`
}

// decisionRows encodes decisions for json_to_recordset.
func decisionRows(ds []domain.Decision) (string, error) {
	rows := make([]decisionRow, 0, len(ds))
	for _, d := range ds {
		r := decisionRow{Attempt: d.Attempt, Decision: d.Verdict, Reason: d.Reason, Warnings: d.Warnings,
			Payload: d.Payload, DecidedAt: d.DecidedAt, DecidedBy: d.DecidedBy, Status: statusOf[d.Verdict]}
		if r.Warnings == nil {
			r.Warnings = []string{}
		}
		if d.Key != "" {
			r.Key = &d.Key
		}
		if d.PolicyVersion > 0 {
			r.PolicyVersion = &d.PolicyVersion
		}
		rows = append(rows, r)
	}
	b, err := json.Marshal(rows)
	return string(b), err
}
