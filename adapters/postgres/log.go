package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"ctjournal/app"
	"ctjournal/domain"
)

// EventLog appends call events to the log (app.EventLog).
type EventLog struct{ db *sql.DB }

func NewEventLog(db *sql.DB) *EventLog { return &EventLog{db: db} }

// publish appends messages to the log inside tx, through watermill-sql's
// publisher, so the log rows commit or vanish with the rest of tx.
func publish(ctx context.Context, tx *sql.Tx, msgs ...*message.Message) error {
	pub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: newLogSchema(0)}, watermill.NopLogger{})
	if err != nil {
		return fmt.Errorf("log publisher: %w", err)
	}
	for _, m := range msgs {
		m.SetContext(ctx)
	}
	if err := pub.Publish(LogTopic, msgs...); err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	return notify(ctx, tx, ChannelLog)
}

// record builds a log message for one of the app's log records.
func record(v any) (*message.Message, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode log record: %w", err)
	}
	return message.NewMessage(uuid.NewString(), payload), nil
}

// Append stores the events not yet in the log, all or none.
func (l *EventLog) Append(ctx context.Context, events []app.NewEvent) (app.AppendResult, error) {
	var res app.AppendResult
	var err error
	// A concurrent request may store the same event_id between our check
	// and our insert; the unique index refuses it, and a second pass then
	// sees it as a duplicate.
	for range 3 {
		res, err = l.append(ctx, events)
		if !isUniqueViolation(err) {
			return res, err
		}
	}
	return res, err
}

func (l *EventLog) append(ctx context.Context, events []app.NewEvent) (app.AppendResult, error) {
	var res app.AppendResult
	err := inTx(ctx, l.db, func(ctx context.Context, tx *sql.Tx) error {
		known, err := storedEvents(ctx, tx, events)
		if err != nil {
			return err
		}
		if err := claimOrders(ctx, tx, events); err != nil {
			return err
		}
		msgs := make([]*message.Message, 0, len(events))
		for _, e := range events {
			if stored, ok := known[e.Event.EventID]; ok {
				if string(stored) != string(e.Canonical) {
					return &app.ConflictError{Index: e.Index, Message: fmt.Sprintf("event_id %s is already stored with other content", e.Event.EventID)}
				}
				res.Duplicates++
				continue
			}
			msgs = append(msgs, message.NewMessage(e.Event.EventID, e.Canonical))
		}
		res.Accepted = len(msgs)
		if len(msgs) == 0 {
			return nil
		}
		return publish(ctx, tx, msgs...)
	})
	return res, err
}

// storedEvents returns the canonical bytes of the batch's events already in
// the log, re-marshalled so that JSONB's key order does not matter.
func storedEvents(ctx context.Context, tx *sql.Tx, events []app.NewEvent) (map[string][]byte, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.Event.EventID
	}
	rows, err := tx.QueryContext(ctx, `SELECT uuid, payload FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	defer rows.Close()
	known := map[string][]byte{}
	for rows.Next() {
		var id string
		var payload []byte
		if err := rows.Scan(&id, &payload); err != nil {
			return nil, fmt.Errorf("scan stored event: %w", err)
		}
		e, err := domain.UnmarshalEvent(payload)
		if err != nil {
			return nil, fmt.Errorf("stored event %s: %w", id, err)
		}
		if known[id], err = domain.MarshalEvent(e); err != nil {
			return nil, fmt.Errorf("stored event %s: %w", id, err)
		}
	}
	return known, rows.Err()
}

// claimOrders ties each new order to its widget and refuses an event whose
// order is already tied to another one.
func claimOrders(ctx context.Context, tx *sql.Tx, events []app.NewEvent) error {
	orders := make([]string, 0, len(events))
	widgets := make([]string, 0, len(events))
	for _, e := range events {
		orders = append(orders, e.Event.OrderID)
		widgets = append(widgets, e.Event.WidgetID)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_order_widgets (order_id, widget_id)
		SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, pq.Array(orders), pq.Array(widgets)); err != nil {
		return fmt.Errorf("tie orders to widgets: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT order_id, widget_id FROM ctj_order_widgets WHERE order_id = ANY($1)`, pq.Array(orders))
	if err != nil {
		return fmt.Errorf("look up order widgets: %w", err)
	}
	defer rows.Close()
	widgetOf := map[string]string{}
	for rows.Next() {
		var o, w string
		if err := rows.Scan(&o, &w); err != nil {
			return fmt.Errorf("scan order widget: %w", err)
		}
		widgetOf[o] = w
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range events {
		if w := widgetOf[e.Event.OrderID]; w != e.Event.WidgetID {
			return &app.ConflictError{Index: e.Index, Message: fmt.Sprintf("order %s belongs to widget %s, not %s", e.Event.OrderID, w, e.Event.WidgetID)}
		}
	}
	return nil
}
