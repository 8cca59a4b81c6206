package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ctjournal/app"
)

// Queries answer the audit and the lead listing (app.Queries) from the
// read models, on the reading pool.
type Queries struct{ s *Store }

func (q *Queries) Explain(ctx context.Context, orderID string) (app.OrderExplanation, error) {
	x := app.OrderExplanation{OrderID: orderID, Events: []app.ExplainedEvent{}, Decisions: []app.ExplainedDecision{}}
	db := q.s.reader(ctx)
	var version sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT widget_id, policy_version FROM ctj_orders WHERE order_id = ?`, orderID).Scan(&x.WidgetID, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return x, app.ErrNotFound
	}
	if err != nil {
		return x, unavailable(fmt.Errorf("load order %s: %w", orderID, err))
	}
	x.PolicyVersion = positive(version)
	if x.Events, err = explainEvents(ctx, db, orderID); err != nil {
		return x, unavailable(err)
	}
	if x.Decisions, err = explainDecisions(ctx, db, orderID); err != nil {
		return x, unavailable(err)
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

func explainEvents(ctx context.Context, db querier, orderID string) ([]app.ExplainedEvent, error) {
	rows, err := db.QueryContext(ctx, `SELECT e.position, e.event_id, e.type, e.attempt, e.occurred_at, e.recorded_at, e.note,
			l.payload -> '$.data'
		FROM ctj_order_events e JOIN ctj_log l ON l."offset" = e.position WHERE e.order_id = ? ORDER BY e.seq`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load events of %s: %w", orderID, err)
	}
	defer rows.Close()
	out := []app.ExplainedEvent{}
	for rows.Next() {
		var (
			e                    app.ExplainedEvent
			attempt              sql.NullInt64
			note, data           sql.NullString
			occurred, recordedAt stamp
		)
		if err := rows.Scan(&e.Position, &e.EventID, &e.Type, &attempt, &occurred, &recordedAt, &note, &data); err != nil {
			return nil, err
		}
		e.Attempt, e.OccurredAt, e.RecordedAt = positive(attempt), occurred.Time, recordedAt.Time
		if note.Valid {
			e.Note = &note.String
		}
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func explainDecisions(ctx context.Context, db querier, orderID string) ([]app.ExplainedDecision, error) {
	rows, err := db.QueryContext(ctx, `SELECT attempt, decision, key, reason, warnings, policy_version, decided_at, status,
		delivered_at, payload FROM ctj_decisions WHERE order_id = ? ORDER BY attempt`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load decisions of %s: %w", orderID, err)
	}
	defer rows.Close()
	out := []app.ExplainedDecision{}
	for rows.Next() {
		var (
			d                      app.ExplainedDecision
			attempt, version       sql.NullInt64
			key, payload           sql.NullString
			warnings               string
			decidedAt, deliveredAt stamp
		)
		if err := rows.Scan(&attempt, &d.Decision, &key, &d.Reason, &warnings, &version, &decidedAt, &d.Status, &deliveredAt, &payload); err != nil {
			return nil, err
		}
		d.Attempt, d.PolicyVersion, d.DecidedAt, d.DeliveredAt = positive(attempt), positive(version), decidedAt.Time, deliveredAt.ptr()
		if err := json.Unmarshal([]byte(warnings), &d.Warnings); err != nil {
			return nil, err
		}
		if key.Valid {
			d.Key = &key.String
			d.Payload = json.RawMessage(payload.String)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	for i := range out {
		if out[i].Key != nil {
			if out[i].Tries, out[i].History, err = leadTries(ctx, db, *out[i].Key); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// leadTries are a lead's tries and, apart, its give-ups and redelivery
// requests, in log order.
func leadTries(ctx context.Context, db querier, key string) (tries []app.ExplainedTry, history []app.ExplainedLeadEvent, err error) {
	rows, err := db.QueryContext(ctx, `SELECT at, duration_ms, http_status, response, error, outcome
		FROM ctj_delivery_tries WHERE key = ? ORDER BY seq`, key)
	if err != nil {
		return nil, nil, fmt.Errorf("load tries of %s: %w", key, err)
	}
	defer rows.Close()
	tries = []app.ExplainedTry{}
	for rows.Next() {
		var (
			t       app.ExplainedTry
			at      stamp
			status  sql.NullInt64
			errText sql.NullString
		)
		if err := rows.Scan(&at, &t.DurationMS, &status, &t.Response, &errText, &t.Outcome); err != nil {
			return nil, nil, err
		}
		t.At = at.Time
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

// Leads pages through decisions, newest decided_at first.
func (q *Queries) Leads(ctx context.Context, f app.LeadFilter) (app.LeadPage, error) {
	where := []string{"TRUE"}
	var args []any
	if f.WidgetID != "" {
		where, args = append(where, "widget_id = ?"), append(args, f.WidgetID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Since != nil {
		where, args = append(where, "decided_at >= ?"), append(args, ts(*f.Since))
	}
	if f.Until != nil {
		where, args = append(where, "decided_at < ?"), append(args, ts(*f.Until))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return app.LeadPage{}, err
		}
		where, args = append(where, "(decided_at, order_id, attempt) < (?, ?, ?)"), append(args, c.DecidedAt, c.OrderID, c.Attempt)
	}
	rows, err := q.s.reader(ctx).QueryContext(ctx, `SELECT key, order_id, widget_id, attempt, decision, status, reason, decided_at, delivered_at
		FROM ctj_decisions WHERE `+strings.Join(where, " AND ")+`
		ORDER BY decided_at DESC, order_id DESC, attempt DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return app.LeadPage{}, unavailable(fmt.Errorf("list leads: %w", err))
	}
	defer rows.Close()
	page := app.LeadPage{Leads: []app.LeadRow{}}
	var last app.LeadCursor[string]
	for rows.Next() {
		var (
			l                      app.LeadRow
			key                    sql.NullString
			attempt                int64
			decidedAt, deliveredAt stamp
		)
		if err := rows.Scan(&key, &l.OrderID, &l.WidgetID, &attempt, &l.Decision, &l.Status, &l.Reason, &decidedAt, &deliveredAt); err != nil {
			return app.LeadPage{}, unavailable(err)
		}
		if len(page.Leads) == f.Limit {
			cur := last.Encode()
			page.NextCursor = &cur
			break
		}
		l.DecidedAt, l.DeliveredAt = decidedAt.Time, deliveredAt.ptr()
		if key.Valid {
			l.Key = &key.String
		}
		l.Attempt = positive(sql.NullInt64{Int64: attempt, Valid: true})
		page.Leads = append(page.Leads, l)
		last = app.LeadCursor[string]{DecidedAt: ts(decidedAt.Time), OrderID: l.OrderID, Attempt: int(attempt)}
	}
	return page, unavailable(rows.Err())
}

// decodeCursor reads a cursor back; its decided_at must be a stamp as ts
// writes it.
func decodeCursor(s string) (app.LeadCursor[string], error) {
	c, err := app.DecodeLeadCursor[string](s)
	if err == nil && len(c.DecidedAt) != len(timeLayout) {
		err = app.NotALeadCursor()
	}
	return c, err
}
