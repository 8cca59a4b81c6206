package projection

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// Rows of the read models as the flush passes them to json_to_recordset:
// one JSON array per table, one statement for all of them.
type (
	policyRow struct {
		WidgetID    string          `json:"widget_id"`
		Version     int             `json:"version"`
		Policy      json.RawMessage `json:"policy"`
		TokenMasked string          `json:"token_masked"`
		Position    int64           `json:"position"`
		RecordedAt  time.Time       `json:"recorded_at"`
	}
	orderRow struct {
		OrderID       string     `json:"order_id"`
		WidgetID      string     `json:"widget_id"`
		PolicyVersion *int       `json:"policy_version"`
		Placed        bool       `json:"placed"`
		Kind          *string    `json:"kind"`
		HasSessionID  *bool      `json:"has_session_id"`
		OrderedAt     *time.Time `json:"ordered_at"`
		ScheduledAt   *time.Time `json:"scheduled_at"`
		FirstPosition int64      `json:"first_position"`
		LastPosition  int64      `json:"last_position"`
	}
	eventRow struct {
		Position   int64     `json:"position"`
		EventID    string    `json:"event_id"`
		OrderID    string    `json:"order_id"`
		WidgetID   string    `json:"widget_id"`
		Type       string    `json:"type"`
		Attempt    *int      `json:"attempt"`
		OccurredAt time.Time `json:"occurred_at"`
		RecordedAt time.Time `json:"recorded_at"`
		Note       *string   `json:"note"`
		// With Position, the key of the log record holding the event's fact.
		TransactionID uint64 `json:"transaction_id"`
	}
	decisionRow struct {
		OrderID       string          `json:"order_id"`
		WidgetID      string          `json:"widget_id"`
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
	deliveryRow struct {
		Key        domain.LeadKey `json:"key"`
		OrderID    string         `json:"order_id"`
		WidgetID   string         `json:"widget_id"`
		Payload    domain.Payload `json:"payload"`
		DecidedAt  time.Time      `json:"decided_at"`
		DeadlineAt time.Time      `json:"deadline_at"`
		// Set for a lead queued claimed for a hand-over (claimForHandoff).
		ClaimedBy    *string    `json:"claimed_by"`
		ClaimedUntil *time.Time `json:"claimed_until"`
	}
	// leadEventRow is one entry of a lead's delivery history: a try, a
	// give-up or a redelivery request, and the status it moves the lead to
	// (none: the status stays).
	leadEventRow struct {
		Position   int64          `json:"position"`
		Key        domain.LeadKey `json:"key"`
		Try        int            `json:"try"`
		At         time.Time      `json:"at"`
		DurationMS int64          `json:"duration_ms"`
		HTTPStatus *int           `json:"http_status"`
		Response   string         `json:"response"`
		Error      *string        `json:"error"`
		Outcome    string         `json:"outcome"`
		Status     string         `json:"-"`
	}
)

// flush writes everything the batch folded, queuing leads claimed for
// handoff while it has slots (none when nil), and the subscriber's offset
// update ack (ackQuery's arguments; none when nil). It reports the leads it
// queued, even when it fails: the caller hands over the claimed ones once
// the batch commits, or frees their slots when it does not, and wakes the
// delivery worker for the others.
func (b *projectionBatch) flush(ctx context.Context, handoff app.LeadHandoff, ack []any) (queued queuedLeads, err error) {
	if b.empty() {
		if ack != nil {
			if _, err := b.q.ExecContext(ctx, ackQuery, ack...); err != nil {
				return queued, fmt.Errorf("move the projection's offset on: %w", err)
			}
		}
		return queuedLeads{}, nil
	}
	queued = b.claimForHandoff(handoff)
	orders, decisions := b.orderRows()
	args, err := b.flushArgs(orders, decisions)
	if err != nil {
		return queued, err
	}
	if ack == nil {
		ack = []any{nil, nil, nil}
	}
	claimedKeys, err := pgdb.QueryTexts(ctx, b.q, flushStatement, append(args, ack...)...)
	if err != nil {
		return queued, fmt.Errorf("write the projection's batch: %w", err)
	}
	queued.inserted(b, claimedKeys)
	if err := b.flushLeadEvents(ctx); err != nil {
		return queued, err
	}
	return queued, nil
}

// flushArgs are flushStatement's $1 to $5: the batch's rows, one JSON
// array per table, written into one reused buffer.
func (b *projectionBatch) flushArgs(orders []orderRow, decisions []decisionRow) ([]any, error) {
	buf := rowBuffers.Get().(*[]byte)
	defer rowBuffers.Put(buf)
	j, args := (*buf)[:0], make([]any, 0, 8)
	j = appendRows(j, b.newPolicies, (*policyRow).appendJSON)
	args = append(args, string(j))
	j = appendRows(j[:0], orders, (*orderRow).appendJSON)
	args = append(args, string(j))
	j = appendRows(j[:0], b.events, (*eventRow).appendJSON)
	args = append(args, string(j))
	j, err := appendRowsErr(j[:0], decisions, (*decisionRow).appendJSON)
	if err != nil {
		return nil, fmt.Errorf("encode the batch's decisions: %w", err)
	}
	args = append(args, string(j))
	if j, err = appendRowsErr(j[:0], b.leads, (*deliveryRow).appendJSON); err != nil {
		return nil, fmt.Errorf("encode the batch's leads: %w", err)
	}
	args = append(args, string(j))
	*buf = j
	return args, nil
}

// rowBuffers hold the flush's JSON while it is copied into its arguments.
var rowBuffers = sync.Pool{New: func() any { return new([]byte) }}

// flushStatement writes policies, orders, events, decisions and queued
// leads in one round trip, and the subscriber's offset update with them
// when given ($6, $7, $8 as ackQuery's $1, $2, $3). Each part writes its
// own table, so none needs to see another's rows. A final decision is
// never overwritten. It returns the keys it queued claimed for a hand-over.
const flushStatement = `WITH policies AS (
		INSERT INTO ctj_policy_versions (widget_id, version, policy, token_masked, position, recorded_at)
		SELECT widget_id, version, policy, token_masked, position, recorded_at
		FROM json_to_recordset($1::json) AS x(widget_id text, version int, policy jsonb, token_masked text,
			position bigint, recorded_at timestamptz)
		ON CONFLICT DO NOTHING
	), orders AS (
		INSERT INTO ctj_orders (order_id, widget_id, policy_version, placed, kind, has_session_id,
			ordered_at, scheduled_at, first_position, last_position)
		SELECT order_id, widget_id, policy_version, placed, kind, has_session_id, ordered_at, scheduled_at,
			first_position, last_position
		FROM json_to_recordset($2::json) AS x(order_id text, widget_id text, policy_version int, placed boolean,
			kind text, has_session_id boolean, ordered_at timestamptz, scheduled_at timestamptz,
			first_position bigint, last_position bigint)
		ON CONFLICT (order_id) DO UPDATE SET policy_version = excluded.policy_version, placed = excluded.placed,
			kind = excluded.kind, has_session_id = excluded.has_session_id, ordered_at = excluded.ordered_at,
			scheduled_at = excluded.scheduled_at, last_position = excluded.last_position
	), events AS (
		INSERT INTO ctj_order_events (position, event_id, order_id, widget_id, type, attempt,
			occurred_at, recorded_at, note, transaction_id)
		SELECT position, event_id, order_id, widget_id, type, attempt, occurred_at, recorded_at, note, transaction_id
		FROM ROWS FROM (json_to_recordset($3::json) AS (position bigint, event_id uuid, order_id text,
			widget_id text, type text, attempt int, occurred_at timestamptz, recorded_at timestamptz,
			note text, transaction_id xid8)) WITH ORDINALITY AS x
		ORDER BY x.ordinality -- seq numbers the events in fold order
		ON CONFLICT DO NOTHING
	), decisions AS (
		INSERT INTO ctj_decisions (order_id, widget_id, attempt, decision, key, reason, warnings,
			policy_version, payload, decided_at, decided_by, status)
		SELECT order_id, widget_id, attempt, decision, key, reason, warnings, policy_version, payload,
			decided_at, decided_by, status
		FROM json_to_recordset($4::json) AS x(order_id text, widget_id text, attempt int, decision text,
			key text, reason text, warnings jsonb, policy_version int, payload jsonb, decided_at timestamptz,
			decided_by uuid, status text)
		ON CONFLICT (order_id, attempt) DO UPDATE SET decision = excluded.decision, key = excluded.key,
			reason = excluded.reason, warnings = excluded.warnings, policy_version = excluded.policy_version,
			payload = excluded.payload, decided_at = excluded.decided_at, decided_by = excluded.decided_by,
			status = excluded.status
		WHERE ctj_decisions.decision = 'wait'
	), queued AS (
		INSERT INTO ctj_deliveries (key, order_id, widget_id, payload, decided_at, deadline_at, next_attempt_at,
			claimed_by, claimed_until)
		SELECT key, order_id, widget_id, payload, decided_at, deadline_at, decided_at, claimed_by, claimed_until
		FROM json_to_recordset($5::json) AS x(key text, order_id text, widget_id text, payload jsonb,
			decided_at timestamptz, deadline_at timestamptz, claimed_by text, claimed_until timestamptz)
		ON CONFLICT (key) DO NOTHING
		RETURNING key, claimed_by
	), acked AS (
		INSERT INTO ctj_log_offsets (offset_acked, last_processed_transaction_id, consumer_group)
		SELECT $6::bigint, $7::xid8, $8::text WHERE $8::text IS NOT NULL
		ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked,
			last_processed_transaction_id = excluded.last_processed_transaction_id
	)
	SELECT key FROM queued WHERE claimed_by IS NOT NULL`

// orderRows are the rows of the orders the batch changed, and of the
// decisions it changed, as the orders' last states hold them.
func (b *projectionBatch) orderRows() ([]orderRow, []decisionRow) {
	ids := make([]string, 0, len(b.orders))
	for id, o := range b.orders {
		if o.changed {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // rows in a stable order: locks taken in a stable order
	orders := make([]orderRow, 0, len(ids))
	var decisions []decisionRow
	for _, id := range ids {
		o := b.orders[id]
		s := o.state
		r := orderRow{OrderID: s.OrderID, WidgetID: s.WidgetID, Placed: s.Placement != nil,
			FirstPosition: o.first, LastPosition: o.last}
		if s.Placement != nil {
			r.PolicyVersion = &s.Placement.Version
		}
		if f := pgrows.OrderedFact(s); f != nil {
			kind, hasSession := string(f.Order.Kind), f.Order.SessionID != ""
			r.Kind, r.HasSessionID, r.OrderedAt, r.ScheduledAt = &kind, &hasSession, &f.OccurredAt, f.Order.ScheduledAt
		}
		orders = append(orders, r)
		for _, d := range s.Decisions {
			if slices.Contains(o.attempts, d.Attempt) {
				decisions = append(decisions, newDecisionRow(s, d))
			}
		}
	}
	return orders, decisions
}

func newDecisionRow(s domain.OrderState, d domain.Decision) decisionRow {
	r := decisionRow{OrderID: s.OrderID, WidgetID: s.WidgetID, Attempt: d.Attempt, Decision: d.Verdict,
		Reason: d.Reason, Warnings: d.Warnings, Payload: d.Payload, DecidedAt: d.DecidedAt,
		DecidedBy: d.DecidedBy, Status: pgrows.StatusOf[d.Verdict]}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if d.Key != "" {
		r.Key = &d.Key
	}
	if d.PolicyVersion > 0 {
		r.PolicyVersion = &d.PolicyVersion
	}
	return r
}

// newEventRow is an event's row, which points at its log record for the
// event's fact.
func newEventRow(e domain.LoggedEvent, transactionID uint64) eventRow {
	r := eventRow{Position: e.Position, EventID: e.EventID, OrderID: e.OrderID, WidgetID: e.WidgetID,
		Type: string(e.Type), OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, TransactionID: transactionID}
	if e.Attempt > 0 {
		r.Attempt = &e.Attempt
	}
	if e.Note != "" {
		r.Note = &e.Note
	}
	return r
}

// flushLeadEvents records the delivery history the batch folded and moves
// each lead's status, entry by entry in log order (leadState.move). An
// entry recorded before (a record folded again) moves nothing.
func (b *projectionBatch) flushLeadEvents(ctx context.Context) error {
	if len(b.leadEvents) == 0 {
		return nil
	}
	j := appendRows(nil, b.leadEvents, (*leadEventRow).appendJSON)
	keys := make([]string, 0, len(b.leadEvents))
	for _, e := range b.leadEvents {
		keys = append(keys, string(e.Key))
	}
	rows, err := b.q.QueryContext(ctx, recordLeadHistory, string(j), pq.Array(keys))
	if err != nil {
		return fmt.Errorf("record delivery history: %w", err)
	}
	defer rows.Close()
	fresh := map[int64]bool{}
	leads := map[domain.LeadKey]*pgrows.LeadState{}
	for rows.Next() {
		var (
			pos int64
			key domain.LeadKey
			l   pgrows.LeadState
		)
		if err := rows.Scan(&pos, &key, &l.Status, &l.Tries, &l.DeliveredAt); err != nil {
			return fmt.Errorf("record delivery history: %w", err)
		}
		fresh[pos] = true
		leads[key] = &l
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record delivery history: %w", err)
	}
	for _, e := range b.leadEvents {
		if fresh[e.Position] {
			leads[e.Key].Move(e.Try, e.At, e.Status)
		}
	}
	if len(leads) == 0 {
		return nil
	}
	type leadRow struct {
		Key         domain.LeadKey `json:"key"`
		Status      string         `json:"status"`
		Tries       int            `json:"tries"`
		DeliveredAt *time.Time     `json:"delivered_at"`
	}
	moved, movedKeys := make([]leadRow, 0, len(leads)), make([]string, 0, len(leads))
	for key, l := range leads {
		moved = append(moved, leadRow{Key: key, Status: l.Status, Tries: l.Tries, DeliveredAt: l.DeliveredAt})
		movedKeys = append(movedKeys, string(key))
	}
	if j, err = json.Marshal(moved); err != nil {
		return fmt.Errorf("encode the leads' statuses: %w", err)
	}
	if _, err := b.q.ExecContext(ctx, moveDecisionsOn, string(j), pq.Array(movedKeys)); err != nil {
		return fmt.Errorf("move leads on: %w", err)
	}
	return nil
}

// The delivery history's two statements find decisions through an array of
// their keys, whose length the planner knows, and not through the JSON,
// which it guesses at 100 rows: with that guess it joined the whole of
// ctj_decisions by hash, a scan of every decision for each batch of tries.

// recordLeadHistory records history entries ($1, a JSON array; $2, their
// leads' keys) and returns, for each new one, its lead's decision as it
// stood before them.
const recordLeadHistory = `WITH x AS (
		SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (position bigint, key text, try int,
			at timestamptz, duration_ms bigint, http_status int, response text, error text, outcome text))
			WITH ORDINALITY
	), recorded AS (
		INSERT INTO ctj_delivery_tries (position, key, try, at, duration_ms, http_status, response, error, outcome)
		SELECT position, key, try, at, duration_ms, http_status, response, error, outcome FROM x
		ORDER BY ordinality
		ON CONFLICT DO NOTHING RETURNING position, key
	)
	SELECT r.position, d.key, d.status, d.tries, d.delivered_at
	FROM recorded r JOIN ctj_decisions d ON d.key = r.key AND d.key = ANY ($2::text[])`

// moveDecisionsOn sets the leads' statuses ($1, a JSON array; $2, their keys).
const moveDecisionsOn = `UPDATE ctj_decisions d SET status = x.status, tries = x.tries, delivered_at = x.delivered_at
	FROM json_to_recordset($1::json) AS x(key text, status text, tries int, delivered_at timestamptz)
	WHERE d.key = ANY ($2::text[]) AND d.key = x.key`

// leadEventRowOf is the history entry of a lead event; status is what it
// moves the lead to, none to leave it.
func leadEventRowOf(position int64, key domain.LeadKey, try int, at time.Time, durationMS int64, httpStatus int,
	response, errText, outcome, status string) leadEventRow {
	r := leadEventRow{Position: position, Key: key, Try: try, At: at, DurationMS: durationMS, Response: response,
		Outcome: outcome, Status: status}
	if httpStatus != 0 {
		r.HTTPStatus = &httpStatus
	}
	if errText != "" {
		r.Error = &errText
	}
	return r
}
