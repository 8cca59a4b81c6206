// Package query answers the read side: an order's explanation, lead
// listings, a widget's summary, policy versions and leads per day, and the
// history a policy is simulated on.
package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// Queries answers the audit and the lead listing from the read models
// (app.Queries).
type Queries struct{ db *sql.DB }

func NewQueries(db *sql.DB) *Queries { return &Queries{db: db} }

func (q *Queries) Explain(ctx context.Context, orderID string) (app.OrderExplanation, error) {
	x := app.OrderExplanation{OrderID: orderID, Events: []app.ExplainedEvent{}, Decisions: []app.ExplainedDecision{}}
	var version sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT widget_id, policy_version FROM ctj_orders WHERE order_id = $1`, orderID).Scan(&x.WidgetID, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return x, app.ErrNotFound
	}
	if err != nil {
		return x, pgdb.Unavailable(fmt.Errorf("load order %s: %w", orderID, err))
	}
	x.PolicyVersion = positive(version)
	if x.Events, err = q.explainEvents(ctx, orderID); err != nil {
		return x, pgdb.Unavailable(err)
	}
	if x.Decisions, err = q.explainDecisions(ctx, orderID); err != nil {
		return x, pgdb.Unavailable(err)
	}
	return x, nil
}

func positive(v sql.NullInt64) *int {
	if !v.Valid || v.Int64 <= 0 {
		return nil
	}
	n := int(v.Int64)
	return &n
}

func (q *Queries) explainEvents(ctx context.Context, orderID string) ([]app.ExplainedEvent, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT position, event_id, type, attempt, occurred_at, recorded_at, note, `+pgrows.FactOf("ctj_log")+`->'data'
		FROM ctj_order_events e WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load events of %s: %w", orderID, err)
	}
	defer rows.Close()
	out := []app.ExplainedEvent{}
	for rows.Next() {
		var (
			e       app.ExplainedEvent
			attempt sql.NullInt64
			note    sql.NullString
			data    []byte
		)
		if err := rows.Scan(&e.Position, &e.EventID, &e.Type, &attempt, &e.OccurredAt, &e.RecordedAt, &note, &data); err != nil {
			return nil, err
		}
		e.Attempt = positive(attempt)
		if note.Valid {
			e.Note = &note.String
		}
		e.OccurredAt, e.RecordedAt = e.OccurredAt.UTC(), e.RecordedAt.UTC()
		e.Data = data
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q *Queries) explainDecisions(ctx context.Context, orderID string) ([]app.ExplainedDecision, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT attempt, decision, key, reason, warnings, policy_version, decided_at, status,
		delivered_at, payload FROM ctj_decisions WHERE order_id = $1 ORDER BY attempt`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load decisions of %s: %w", orderID, err)
	}
	defer rows.Close()
	out := []app.ExplainedDecision{}
	for rows.Next() {
		var (
			d                 app.ExplainedDecision
			attempt, version  sql.NullInt64
			key               sql.NullString
			warnings, payload []byte
			deliveredAt       sql.NullTime
		)
		if err := rows.Scan(&attempt, &d.Decision, &key, &d.Reason, &warnings, &version, &d.DecidedAt, &d.Status, &deliveredAt, &payload); err != nil {
			return nil, err
		}
		d.Attempt, d.PolicyVersion = positive(attempt), positive(version)
		d.DecidedAt = d.DecidedAt.UTC()
		if err := json.Unmarshal(warnings, &d.Warnings); err != nil {
			return nil, err
		}
		if key.Valid {
			d.Key = &key.String
			if d.Payload, err = inWireOrder(payload); err != nil {
				return nil, err
			}
		}
		if deliveredAt.Valid {
			t := deliveredAt.Time.UTC()
			d.DeliveredAt = &t
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Key != nil {
			if out[i].Tries, out[i].History, err = q.tries(ctx, *out[i].Key); err != nil {
				return nil, err
			}
			if out[i].Tries == nil { // a send decision lists its tries, none yet included
				out[i].Tries = []app.ExplainedTry{}
			}
		}
	}
	return out, nil
}

// inWireOrder re-encodes a stored payload with its keys in the order
// Calltouch gets them (JSONB keeps its own key order).
func inWireOrder(stored []byte) (json.RawMessage, error) {
	var p domain.Payload
	if err := json.Unmarshal(stored, &p); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return json.Marshal(p)
}

// tries returns a lead's requests to Calltouch and, apart, the rest of its
// delivery history (give-ups, redelivery requests).
func (q *Queries) tries(ctx context.Context, key string) (tries []app.ExplainedTry, history []app.ExplainedLeadEvent, err error) {
	rows, err := q.db.QueryContext(ctx, `SELECT at, duration_ms, http_status, response, error, outcome
		FROM ctj_delivery_tries WHERE key = $1 ORDER BY seq`, key)
	if err != nil {
		return nil, nil, fmt.Errorf("load tries of %s: %w", key, err)
	}
	defer rows.Close()
	tries = []app.ExplainedTry{}
	for rows.Next() {
		var (
			t       app.ExplainedTry
			status  sql.NullInt64
			errText sql.NullString
		)
		if err := rows.Scan(&t.At, &t.DurationMS, &status, &t.Response, &errText, &t.Outcome); err != nil {
			return nil, nil, err
		}
		t.At = t.At.UTC()
		if app.IsLeadEvent(t.Outcome) {
			history = append(history, app.ExplainedLeadEvent{At: t.At, Event: t.Outcome, Reason: errText.String})
			continue
		}
		if status.Valid {
			s := int(status.Int64)
			t.HTTPStatus = &s
		}
		if errText.Valid {
			t.Error = &errText.String
		}
		tries = append(tries, t)
	}
	return tries, history, rows.Err()
}

func (q *Queries) Leads(ctx context.Context, f app.LeadFilter) (app.LeadPage, error) {
	where := []string{"TRUE"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.WidgetID != "" {
		where = append(where, "widget_id = "+arg(f.WidgetID))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.Since != nil {
		where = append(where, "decided_at >= "+arg(*f.Since))
	}
	if f.Until != nil {
		where = append(where, "decided_at < "+arg(*f.Until))
	}
	if f.Cursor != "" {
		c, err := app.DecodeLeadCursor[time.Time](f.Cursor)
		if err != nil {
			return app.LeadPage{}, err
		}
		where = append(where, fmt.Sprintf("(decided_at, order_id, attempt) < (%s, %s, %s)", arg(c.DecidedAt), arg(c.OrderID), arg(c.Attempt)))
	}
	rows, err := q.db.QueryContext(ctx, `SELECT key, order_id, widget_id, attempt, decision, status, reason, decided_at, delivered_at
		FROM ctj_decisions WHERE `+strings.Join(where, " AND ")+`
		ORDER BY decided_at DESC, order_id DESC, attempt DESC LIMIT `+arg(f.Limit+1), args...)
	if err != nil {
		return app.LeadPage{}, pgdb.Unavailable(fmt.Errorf("list leads: %w", err))
	}
	defer rows.Close()
	page := app.LeadPage{Leads: []app.LeadRow{}}
	var last app.LeadCursor[time.Time]
	for rows.Next() {
		var (
			l           app.LeadRow
			key         sql.NullString
			attempt     int64
			deliveredAt sql.NullTime
		)
		if err := rows.Scan(&key, &l.OrderID, &l.WidgetID, &attempt, &l.Decision, &l.Status, &l.Reason, &l.DecidedAt, &deliveredAt); err != nil {
			return app.LeadPage{}, err
		}
		if len(page.Leads) == f.Limit {
			cur := last.Encode()
			page.NextCursor = &cur
			break
		}
		l.DecidedAt = l.DecidedAt.UTC()
		if key.Valid {
			l.Key = &key.String
		}
		l.Attempt = positive(sql.NullInt64{Int64: attempt, Valid: true})
		if deliveredAt.Valid {
			t := deliveredAt.Time.UTC()
			l.DeliveredAt = &t
		}
		page.Leads = append(page.Leads, l)
		last = app.LeadCursor[time.Time]{DecidedAt: l.DecidedAt, OrderID: l.OrderID, Attempt: int(attempt)}
	}
	return page, pgdb.Unavailable(rows.Err())
}
