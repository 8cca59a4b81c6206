package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// modelTables are the projection's tables; a rebuild folds into copies of
// them under other names (rebuild.go).
var modelTables = []string{"ctj_policy_versions", "ctj_orders", "ctj_order_events", "ctj_decisions", "ctj_delivery_tries"}

// liveTables names the live tables as they are.
var liveTables = strings.NewReplacer()

// ReadModel is the projection's store (app.ReadModel). Its methods run in
// the transaction ctx carries: the projection subscriber's, committed with
// its offset, so a record is applied exactly once.
type ReadModel struct {
	s      *Store
	tables *strings.Replacer // live names to the names written
	// tx, when set, is the transaction every method runs in: a rebuild's.
	tx *sql.Tx
	// renamed holds each query with the tables renamed (q).
	renamed sync.Map
}

func newReadModel(s *Store, tables *strings.Replacer) *ReadModel {
	return &ReadModel{s: s, tables: tables}
}

func (m *ReadModel) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if m.tx != nil {
		return fn(ctx, m.tx)
	}
	return m.s.inTx(ctx, fn)
}

func (m *ReadModel) reader(ctx context.Context) querier {
	if m.tx != nil {
		return m.s.prepared(m.tx)
	}
	return m.s.reader(ctx)
}

// q is query on this model's tables, renamed once per query.
func (m *ReadModel) q(query string) string {
	if renamed, ok := m.renamed.Load(query); ok {
		return renamed.(string)
	}
	renamed := m.tables.Replace(query)
	m.renamed.Store(query, renamed)
	return renamed
}

func (m *ReadModel) RecordPolicy(ctx context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	return m.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := m.s.prepared(tx).ExecContext(ctx, m.q(`INSERT INTO ctj_policy_versions (widget_id, version, policy, token_masked, position, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), c.WidgetID, c.Version, string(body), c.TokenMasked, position, ts(recordedAt))
		if err != nil {
			return fmt.Errorf("record policy %s v%d: %w", c.WidgetID, c.Version, err)
		}
		return nil
	})
}

// PolicyInForce is the highest version the projection has seen.
func (m *ReadModel) PolicyInForce(ctx context.Context, widgetID string) (domain.Placement, error) {
	var (
		version int
		body    string
	)
	err := m.reader(ctx).QueryRowContext(ctx, m.q(`SELECT version, policy FROM ctj_policy_versions WHERE widget_id = ?
		ORDER BY version DESC LIMIT 1`), widgetID).Scan(&version, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Placement{}, nil
	}
	if err != nil {
		return domain.Placement{}, fmt.Errorf("load policy of widget %s: %w", widgetID, err)
	}
	return app.PlacementOf(widgetID, version, []byte(body))
}

func (m *ReadModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	return m.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		state, known := m.foldedOrders().get(tx, orderID)
		if !known {
			var err error
			if state, err = loadOrder(ctx, m.s.prepared(tx), m.q, orderID); err != nil {
				return err
			}
		}
		change, err := fold(state)
		if err != nil || change == nil {
			return err
		}
		if err := m.writeChange(ctx, tx, *change); err != nil {
			return err
		}
		m.foldedOrders().put(tx, change.State)
		return nil
	})
}

// foldedOrders are the states the projection's transaction under way has
// folded; a model that writes other tables (a rebuild's) keeps none.
func (m *ReadModel) foldedOrders() *foldedOrders {
	if m.tables != liveTables {
		return &foldedOrders{}
	}
	return &m.s.folded
}

func (m *ReadModel) writeChange(ctx context.Context, tx *sql.Tx, c app.OrderChange) error {
	s, e := c.State, c.Event
	var (
		version                            any
		kind, hasSession, ordered, schedul any
	)
	if s.Placement != nil && s.Placement.Version > 0 {
		version = s.Placement.Version
	} else if s.Placement != nil {
		version = 0
	}
	if f := orderedFact(s); f != nil {
		kind, hasSession, ordered, schedul = string(f.Order.Kind), f.Order.SessionID != "", ts(f.OccurredAt), tsOrNil(f.Order.ScheduledAt)
	}
	if _, err := m.s.prepared(tx).ExecContext(ctx, m.q(`INSERT INTO ctj_orders (order_id, widget_id, policy_version, placed, kind, has_session_id,
			ordered_at, scheduled_at, first_position, last_position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id) DO UPDATE SET policy_version = excluded.policy_version, placed = excluded.placed,
			kind = excluded.kind, has_session_id = excluded.has_session_id, ordered_at = excluded.ordered_at,
			scheduled_at = excluded.scheduled_at, last_position = excluded.last_position`),
		s.OrderID, s.WidgetID, version, s.Placement != nil, kind, hasSession, ordered, schedul, e.Position, e.Position); err != nil {
		return fmt.Errorf("store order %s: %w", s.OrderID, err)
	}
	var attempt, note any
	if e.Attempt > 0 {
		attempt = e.Attempt
	}
	if e.Note != "" {
		note = e.Note
	}
	if _, err := m.s.prepared(tx).ExecContext(ctx, m.q(`INSERT INTO ctj_order_events (seq, position, event_id, order_id, widget_id, type, attempt,
			occurred_at, recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		e.Position, e.Position, e.EventID, s.OrderID, s.WidgetID, string(e.Type), attempt, ts(e.OccurredAt), ts(e.RecordedAt), note); err != nil {
		return fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	for _, d := range c.Step.Changed {
		if err := m.writeDecision(ctx, tx, s, d); err != nil {
			return err
		}
	}
	return nil
}

// writeDecision stores a decision; a final one is never overwritten.
func (m *ReadModel) writeDecision(ctx context.Context, tx *sql.Tx, s domain.OrderState, d domain.Decision) error {
	warnings := d.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	w, err := json.Marshal(warnings)
	if err != nil {
		return err
	}
	var key, version, payload any
	if d.Key != "" {
		key = string(d.Key)
	}
	if d.PolicyVersion > 0 {
		version = d.PolicyVersion
	}
	if d.Payload != nil {
		p, err := json.Marshal(d.Payload)
		if err != nil {
			return err
		}
		payload = string(p)
	}
	_, err = m.s.prepared(tx).ExecContext(ctx, m.q(`INSERT INTO ctj_decisions (order_id, widget_id, attempt, decision, key, reason, warnings,
			policy_version, payload, decided_at, decided_by, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (order_id, attempt) DO UPDATE SET decision = excluded.decision, key = excluded.key,
			reason = excluded.reason, warnings = excluded.warnings, policy_version = excluded.policy_version,
			payload = excluded.payload, decided_at = excluded.decided_at, decided_by = excluded.decided_by,
			status = excluded.status
		WHERE ctj_decisions.decision = 'wait'`),
		s.OrderID, s.WidgetID, d.Attempt, string(d.Verdict), key, d.Reason, string(w), version, payload,
		ts(d.DecidedAt), d.DecidedBy, statusOf[d.Verdict])
	if err != nil {
		return fmt.Errorf("store decision %s/%d: %w", s.OrderID, d.Attempt, err)
	}
	return nil
}

var statusOf = map[domain.Verdict]string{
	domain.Send: app.StatusPending,
	domain.Skip: app.StatusSkipped,
	domain.Wait: app.StatusWaiting,
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

func (m *ReadModel) RecordTry(ctx context.Context, t app.DeliveryTried, position int64) error {
	return m.leadEvent(ctx, leadEvent{position: position, key: t.Key, try: t.Try, at: t.At, durationMS: t.DurationMS,
		httpStatus: t.HTTPStatus, response: t.Response, errText: t.Error, outcome: string(t.Outcome), status: app.StatusAfterTry(t.Outcome)})
}

func (m *ReadModel) RecordGiveUp(ctx context.Context, g app.LeadGivenUp, position int64) error {
	return m.leadEvent(ctx, leadEvent{position: position, key: g.Key, at: g.At, errText: g.Reason, outcome: app.LeadGivenUpEvent, status: app.StatusFailed})
}

func (m *ReadModel) RecordRedelivery(ctx context.Context, r app.RedeliveryRequested, position int64) error {
	return m.leadEvent(ctx, leadEvent{position: position, key: r.Key, at: r.At, outcome: app.LeadRedeliveryRequestedEvent, status: app.StatusPending})
}

// leadEvent is one entry of a lead's delivery history and the status it
// moves the lead to (none: the status stays).
type leadEvent struct {
	position   int64
	key        domain.LeadKey
	try        int
	at         time.Time
	durationMS int64
	httpStatus int
	response   string
	errText    string
	outcome    string
	status     string
}

// leadEvent records the entry and moves its lead's decision on; an entry
// recorded before (a record folded again) moves nothing.
func (m *ReadModel) leadEvent(ctx context.Context, e leadEvent) error {
	return m.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var httpStatus, errText any
		if e.httpStatus != 0 {
			httpStatus = e.httpStatus
		}
		if e.errText != "" {
			errText = e.errText
		}
		res, err := m.s.prepared(tx).ExecContext(ctx, m.q(`INSERT INTO ctj_delivery_tries (seq, position, key, try, at, duration_ms, http_status,
			response, error, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			e.position, e.position, string(e.key), e.try, ts(e.at), e.durationMS, httpStatus, e.response, errText, e.outcome)
		if err != nil {
			return fmt.Errorf("record delivery history of %s: %w", e.key, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		var (
			status      string
			tries       int
			deliveredAt stamp
		)
		err = m.s.prepared(tx).QueryRowContext(ctx, m.q(`SELECT status, tries, delivered_at FROM ctj_decisions WHERE key = ?`), string(e.key)).
			Scan(&status, &tries, &deliveredAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load lead %s: %w", e.key, err)
		}
		if status == app.StatusDelivered {
			return nil
		}
		if e.try > 0 {
			tries++
		}
		if e.status != "" {
			status = e.status
		}
		if e.status == app.StatusDelivered {
			deliveredAt = stamp{Time: e.at, Valid: true}
		}
		if _, err := m.s.prepared(tx).ExecContext(ctx, m.q(`UPDATE ctj_decisions SET status = ?, tries = ?, delivered_at = ? WHERE key = ?`),
			status, tries, deliveredAt, string(e.key)); err != nil {
			return fmt.Errorf("move lead %s on: %w", e.key, err)
		}
		return nil
	})
}

// Outbox queues leads decided "send" in the projection's transaction
// (app.Outbox): the decision and its queue row commit together.
type Outbox struct{ s *Store }

// Enqueue adds the lead once; a key already queued is left as it is.
func (o *Outbox) Enqueue(ctx context.Context, lead app.Lead) error {
	payload, err := json.Marshal(lead.Payload)
	if err != nil {
		return err
	}
	err = o.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := o.s.prepared(tx).ExecContext(ctx, `INSERT INTO ctj_deliveries (key, order_id, widget_id, payload, decided_at, deadline_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			string(lead.Key), lead.OrderID, lead.WidgetID, string(payload), ts(lead.DecidedAt),
			ts(lead.DecidedAt.Add(o.s.giveUpAfter)), ts(lead.DecidedAt))
		if err != nil {
			return unavailable(fmt.Errorf("queue lead %s: %w", lead.Key, err))
		}
		return nil
	})
	if err == nil {
		o.s.pokeDeliveries()
	}
	return err
}
