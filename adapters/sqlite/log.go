package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	logSchema  = recordSchema{Schema: sqlitelog.Schema{GenerateMessagesTableName: func(string) string { return `"ctj_log"` }, JSONPayload: true}}
	logOffsets = sqlitelog.Offsets{GenerateMessagesOffsetsTableName: func(string) string { return `"ctj_log_offsets"` }}
)

// recordSchema is the SQLite log schema that also hands each message its
// position and the time it was recorded, as the projection needs them.
type recordSchema struct {
	sqlitelog.Schema
	// batch, when set, is how many records the next poll reads, at most
	// SubscribeBatchSize (writerTurns).
	batch func(full int) int
}

func (s recordSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: params.Topic, ConsumerGroup: params.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	batch := s.SubscribeBatchSize
	if batch == 0 {
		batch = 100
	}
	if s.batch != nil {
		batch = s.batch(batch)
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
// writer: the appends that wait for it are judged and stored together in
// one IMMEDIATE transaction, each in a savepoint of its own
// (group_commit.go), which sees every append committed or stored before
// it; appends take the writer before the projection does (writerTurns).
//
// Most of the judging is done before, off the writer: the events' ids and
// orders are looked up in a snapshot of the file, on the reading pool. In
// the transaction only what was appended since that snapshot is looked at
// again, usually nothing or another append or two.
type EventLog struct{ s *Store }

func (l *EventLog) Append(ctx context.Context, events []app.NewEvent) (app.AppendResult, error) {
	l.s.seen.start(l.s.read)
	known, err := l.s.knownAtSnapshot(ctx, events)
	if err != nil {
		return app.AppendResult{}, unavailable(err)
	}
	done := l.s.turns.appendArrives(len(events))
	defer done()
	// Inside the caller's transaction the events commit or roll back with
	// it, so they cannot share a group's.
	if tx := txOf(ctx); tx != nil {
		res, _, err := l.s.appendJudged(ctx, tx, events, &known)
		return res, err
	}
	c := &appendCall{events: events, known: known, lead: make(chan struct{}, 1), done: make(chan struct{})}
	l.s.join(ctx, c)
	return c.result, c.err
}

// appendJudged judges events in the write transaction against known,
// brought up to date, and stores those not yet in the log. It returns
// what it stored: the events' ids and the orders it tied.
func (s *Store) appendJudged(ctx context.Context, tx *sql.Tx, events []app.NewEvent, known *knownEvents) (app.AppendResult, storedIDs, error) {
	stmts := s.prepared(tx)
	if err := known.catchUp(ctx, stmts, events); err != nil {
		return app.AppendResult{}, storedIDs{}, unavailable(err)
	}
	accepted, newOrders, err := app.JudgeAppend(events, known.stored, known.widgetOf)
	if err != nil {
		return app.AppendResult{}, storedIDs{}, err
	}
	if err := tieOrders(ctx, stmts, newOrders); err != nil {
		return app.AppendResult{}, storedIDs{}, unavailable(err)
	}
	res := app.AppendResult{Accepted: len(accepted), Duplicates: len(events) - len(accepted)}
	if len(accepted) == 0 {
		return res, storedIDs{}, nil
	}
	stored := storedIDs{events: make([]string, len(accepted)), orders: make([]string, len(newOrders))}
	msgs := make([]*message.Message, len(accepted))
	for i, e := range accepted {
		msgs[i] = message.NewMessage(e.Event.EventID, e.Canonical)
		stored.events[i] = e.Event.EventID
	}
	for i, o := range newOrders {
		stored.orders[i] = o.Event.OrderID
	}
	if err := publish(ctx, tx, msgs...); err != nil {
		return app.AppendResult{}, storedIDs{}, unavailable(err)
	}
	return res, stored, nil
}

// storedIDs are the event ids an append stored and the orders it tied.
type storedIDs struct{ events, orders []string }

// knownEvents is what the file holds of an append's events and orders:
// the stored content of its events' ids and the widgets of its orders, as
// of the log's offset last.
type knownEvents struct {
	stored   map[string][]byte
	widgetOf map[string]string
	last     int64
}

// knownAtSnapshot looks the events and their orders up in one snapshot of
// the file, on the reading pool.
func (s *Store) knownAtSnapshot(ctx context.Context, events []app.NewEvent) (knownEvents, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return knownEvents{}, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback()
	var k knownEvents
	if k.last, err = lastOffset(ctx, tx); err != nil {
		return knownEvents{}, err
	}
	ids, orders := idsAndOrders(events)
	// The ids the filters know absent need no lookup.
	ids, orders = s.seen.maybe(ctx, tx, k.last, ids, orders)
	k.stored, k.widgetOf, err = knownEventsAndOrders(ctx, tx, ids, orders)
	return k, err
}

// idsAndOrders are the events' ids and their orders, each once.
func idsAndOrders(events []app.NewEvent) (ids, orders []any) {
	ids, orders = make([]any, 0, len(events)), make([]any, 0, len(events))
	seenOrder := map[string]bool{}
	for _, e := range events {
		ids = append(ids, e.Event.EventID)
		if !seenOrder[e.Event.OrderID] {
			seenOrder[e.Event.OrderID] = true
			orders = append(orders, e.Event.OrderID)
		}
	}
	return ids, orders
}

func lastOffset(ctx context.Context, q querier) (int64, error) {
	var last int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(max("offset"), 0) FROM ctj_log`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read the log's last offset: %w", err)
	}
	return last, nil
}

// catchUp adds what was appended since the snapshot, in the write
// transaction: the events among the log's newer rows, and the orders the
// snapshot did not know (every append that ties an order also adds to the
// log, so nothing newer means no newer tie either).
func (k *knownEvents) catchUp(ctx context.Context, q querier, events []app.NewEvent) error {
	last, err := lastOffset(ctx, q)
	if err != nil || last == k.last {
		return err
	}
	ours := make(map[string]bool, len(events))
	for _, e := range events {
		ours[e.Event.EventID] = true
	}
	var newer []any
	err = scanPairs(ctx, q, `SELECT uuid, NULL FROM ctj_log WHERE "offset" > ?`, []any{k.last}, func(id string, _ []byte) {
		if ours[id] {
			newer = append(newer, id)
		}
	})
	if err != nil {
		return fmt.Errorf("look up events appended meanwhile: %w", err)
	}
	if err := lookUp(ctx, q, `SELECT uuid, payload FROM ctj_log WHERE uuid IN `, newer,
		func(id string, payload []byte) { k.stored[id] = payload }); err != nil {
		return fmt.Errorf("look up events: %w", err)
	}
	var unknown []any
	seen := map[string]bool{}
	for _, e := range events {
		if o := e.Event.OrderID; !seen[o] && k.widgetOf[o] == "" {
			seen[o] = true
			unknown = append(unknown, o)
		}
	}
	if err := lookUp(ctx, q, `SELECT order_id, widget_id FROM ctj_order_widgets WHERE order_id IN `, unknown,
		func(order string, widget []byte) { k.widgetOf[order] = string(widget) }); err != nil {
		return fmt.Errorf("look up orders: %w", err)
	}
	k.last = last
	return nil
}

// tieOrders ties each new order to its widget, a few hundred a statement.
func tieOrders(ctx context.Context, q querier, orders []app.NewEvent) error {
	for chunk := range slices.Chunk(orders, lookupChunk) {
		args := make([]any, 0, 2*len(chunk))
		for _, o := range chunk {
			args = append(args, o.Event.OrderID, o.Event.WidgetID)
		}
		query := `INSERT INTO ctj_order_widgets (order_id, widget_id) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(chunk)), ", ")
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("tie orders %s… to their widgets: %w", chunk[0].Event.OrderID, err)
		}
	}
	return nil
}

// knownEventsAndOrders reads the stored content of ids and the widgets of
// orders.
func knownEventsAndOrders(ctx context.Context, q querier, ids, orders []any) (map[string][]byte, map[string]string, error) {
	stored, widgetOf := map[string][]byte{}, map[string]string{}
	if err := lookUp(ctx, q, `SELECT uuid, payload FROM ctj_log WHERE uuid IN `, ids,
		func(id string, payload []byte) { stored[id] = payload }); err != nil {
		return nil, nil, fmt.Errorf("look up events: %w", err)
	}
	if err := lookUp(ctx, q, `SELECT order_id, widget_id FROM ctj_order_widgets WHERE order_id IN `, orders,
		func(order string, widget []byte) { widgetOf[order] = string(widget) }); err != nil {
		return nil, nil, fmt.Errorf("look up orders: %w", err)
	}
	return stored, widgetOf, nil
}

// lookUp runs query, which ends in IN, on keys, a few hundred at a time.
func lookUp(ctx context.Context, q querier, query string, keys []any, found func(key string, value []byte)) error {
	for chunk := range slices.Chunk(keys, lookupChunk) {
		if err := scanPairs(ctx, q, query+`(`+placeholders(len(chunk))+`)`, chunk, found); err != nil {
			return err
		}
	}
	return nil
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
