package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"ctjournal/adapters/sqlite/sqlitelog"
	"ctjournal/app"
)

// LogTopic is the log's watermill topic: table ctj_log, offsets in
// ctj_log_offsets, as in the PostgreSQL store.
const LogTopic = "log"

// Metadata a log message carries to the projection.
const (
	metaPosition   = "position"
	metaRecordedAt = "recorded_at"
)

var (
	logSchema  = recordSchema{sqlitelog.Schema{GenerateMessagesTableName: func(string) string { return `"ctj_log"` }, JSONPayload: true}}
	logOffsets = sqlitelog.Offsets{GenerateMessagesOffsetsTableName: func(string) string { return `"ctj_log_offsets"` }}
)

// recordSchema is the SQLite log schema that also hands each message its
// position and the time it was recorded, as the projection needs them.
type recordSchema struct{ sqlitelog.Schema }

func (s recordSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: params.Topic, ConsumerGroup: params.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	batch := s.SubscribeBatchSize
	if batch == 0 {
		batch = 100
	}
	return wsql.Query{Query: `SELECT "offset", uuid, payload, metadata, created_at FROM ` + s.MessagesTable(params.Topic) + `
		WHERE "offset" > (` + next.Query + `) ORDER BY "offset" LIMIT ` + strconv.Itoa(batch), Args: next.Args}, nil
}

func (s recordSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		r          wsql.Row
		recordedAt string
	)
	if err := params.Row.Scan(&r.Offset, &r.UUID, &r.Payload, &r.Metadata, &recordedAt); err != nil {
		return wsql.Row{}, fmt.Errorf("scan log row: %w", err)
	}
	msg := message.NewMessage(string(r.UUID), r.Payload)
	if len(r.Metadata) > 0 {
		if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
			return wsql.Row{}, fmt.Errorf("metadata of log row %d: %w", r.Offset, err)
		}
	}
	msg.Metadata.Set(metaPosition, strconv.FormatInt(r.Offset, 10))
	msg.Metadata.Set(metaRecordedAt, recordedAt)
	r.Msg = msg
	return r, nil
}

// logRecord reads what recordSchema put in a message.
func logRecord(msg *message.Message) (app.LogRecord, error) {
	pos, err := strconv.ParseInt(msg.Metadata.Get(metaPosition), 10, 64)
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no log position: %w", msg.UUID, err)
	}
	at, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(metaRecordedAt))
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no recorded time: %w", msg.UUID, err)
	}
	return app.LogRecord{Position: pos, RecordedAt: at.UTC(), Payload: msg.Payload}, nil
}

// publish appends messages to the log inside tx, through watermill-sql's
// publisher, so that they commit or vanish with the rest of tx.
func publish(ctx context.Context, tx *sql.Tx, msgs ...*message.Message) error {
	pub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: logSchema}, watermill.NopLogger{})
	if err != nil {
		return fmt.Errorf("log publisher: %w", err)
	}
	for _, m := range msgs {
		m.SetContext(ctx)
	}
	if err := pub.Publish(LogTopic, msgs...); err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	return nil
}

// record builds a log message for one of the app's log records.
func record(v any) (*message.Message, error) { return recordWithID(uuid.NewString(), v) }

func recordWithID(id string, v any) (*message.Message, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode log record: %w", err)
	}
	return message.NewMessage(id, payload), nil
}

// EventLog appends call events to the log (app.EventLog). SQLite has one
// writer: each append is judged and stored in one IMMEDIATE transaction,
// which sees every append committed before it.
type EventLog struct{ s *Store }

func (l *EventLog) Append(ctx context.Context, events []app.NewEvent) (app.AppendResult, error) {
	var res app.AppendResult
	err := l.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmts := l.s.prepared(tx)
		stored, widgetOf, err := knownEventsAndOrders(ctx, stmts, events)
		if err != nil {
			return unavailable(err)
		}
		accepted, newOrders, err := app.JudgeAppend(events, stored, widgetOf)
		if err != nil {
			return err
		}
		for _, o := range newOrders {
			if _, err := stmts.ExecContext(ctx, `INSERT INTO ctj_order_widgets (order_id, widget_id) VALUES (?, ?)`,
				o.Event.OrderID, o.Event.WidgetID); err != nil {
				return unavailable(fmt.Errorf("tie order %s to its widget: %w", o.Event.OrderID, err))
			}
		}
		res = app.AppendResult{Accepted: len(accepted), Duplicates: len(events) - len(accepted)}
		if len(accepted) == 0 {
			return nil
		}
		msgs := make([]*message.Message, len(accepted))
		for i, e := range accepted {
			msgs[i] = message.NewMessage(e.Event.EventID, e.Canonical)
		}
		return unavailable(publish(ctx, tx, msgs...))
	})
	if err != nil {
		return app.AppendResult{}, err
	}
	return res, nil
}

// knownEventsAndOrders reads the stored content of the events' ids and
// the widgets of their orders, a few hundred ids a query.
func knownEventsAndOrders(ctx context.Context, q querier, events []app.NewEvent) (map[string][]byte, map[string]string, error) {
	stored, widgetOf := map[string][]byte{}, map[string]string{}
	ids, orders := make([]any, 0, len(events)), make([]any, 0, len(events))
	seenOrder := map[string]bool{}
	for _, e := range events {
		ids = append(ids, e.Event.EventID)
		if !seenOrder[e.Event.OrderID] {
			seenOrder[e.Event.OrderID] = true
			orders = append(orders, e.Event.OrderID)
		}
	}
	for chunk := range slices.Chunk(ids, lookupChunk) {
		err := scanPairs(ctx, q, `SELECT uuid, payload FROM ctj_log WHERE uuid IN (`+placeholders(len(chunk))+`)`, chunk,
			func(id string, payload []byte) { stored[id] = payload })
		if err != nil {
			return nil, nil, fmt.Errorf("look up events: %w", err)
		}
	}
	for chunk := range slices.Chunk(orders, lookupChunk) {
		err := scanPairs(ctx, q, `SELECT order_id, widget_id FROM ctj_order_widgets WHERE order_id IN (`+placeholders(len(chunk))+`)`, chunk,
			func(order string, widget []byte) { widgetOf[order] = string(widget) })
		if err != nil {
			return nil, nil, fmt.Errorf("look up orders: %w", err)
		}
	}
	return stored, widgetOf, nil
}

// lookupChunk is how many ids a lookup query binds: a few statement
// shapes, each prepared once per transaction, well within SQLite's limit
// on bound parameters.
const lookupChunk = 250

// scanPairs runs query and hands each row's two columns to found.
func scanPairs(ctx context.Context, q querier, query string, args []any, found func(key string, value []byte)) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key   string
			value []byte
		)
		if err := rows.Scan(&key, &value); err != nil {
			return err
		}
		found(key, value)
	}
	return rows.Err()
}
