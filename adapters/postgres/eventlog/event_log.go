// Package eventlog appends to the log: call events, with group commit,
// and policy changes.
package eventlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/wire"
)

// EventLog appends call events to the log (app.EventLog). Appends that
// arrive while a group is in flight are committed together in the next one
// (group commit, group_commit.go): each request still succeeds or fails
// whole, but concurrent clients share round trips and WAL flushes.
type EventLog struct {
	db    *sql.DB
	stmts *pgdb.Statements
	calls chan *appendCall
	stop  chan struct{}
	wg    sync.WaitGroup
}

const (
	appendTimeout = 30 * time.Second
	// maxJudgingPasses bounds the passes of a group that keeps losing races,
	// well past any seen, within appendTimeout.
	maxJudgingPasses = 50
)

type appendCall struct {
	ctx    context.Context
	events []app.NewEvent
	result app.AppendResult
	err    error
	done   chan struct{}
}

// NewEventLog starts the group commit; Close stops it.
func NewEventLog(db *sql.DB) *EventLog {
	l := &EventLog{db: db, stmts: pgdb.NewStatements(db), calls: make(chan *appendCall), stop: make(chan struct{})}
	l.wg.Go(l.formGroups)
	return l
}

// Close stops the group commit once the appends taken are done.
func (l *EventLog) Close() {
	close(l.stop)
	l.wg.Wait()
}

// Append stores the events not yet in the log, all or none.
func (l *EventLog) Append(ctx context.Context, events []app.NewEvent) (app.AppendResult, error) {
	// Inside the caller's transaction (WithTx) the events commit or roll
	// back with it, so they cannot share a group's transaction.
	if tx := pgdb.TxFrom(ctx); tx != nil {
		c := &appendCall{ctx: ctx, events: events}
		if err := appendGroup(ctx, tx, tx, []*appendCall{c}); err != nil {
			return app.AppendResult{}, pgdb.RefusedValue(pgdb.Unavailable(err))
		}
		return c.result, c.err
	}
	c := &appendCall{ctx: ctx, events: events, done: make(chan struct{})}
	select {
	case l.calls <- c:
	case <-ctx.Done():
		return app.AppendResult{}, ctx.Err()
	case <-l.stop:
		return app.AppendResult{}, fmt.Errorf("%w: event log is closed", app.ErrUnavailable)
	}
	<-c.done // once handed over, the outcome is the transaction's, not ctx's
	return c.result, c.err
}

// errOrderRace: a concurrent transaction tied one of our new orders to a
// widget between our check and our insert; the group is tried again.
var errOrderRace = errors.New("order claimed concurrently")

func (l *EventLog) commit(group []*appendCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), appendTimeout)
	defer cancel()
	l.store(ctx, group)
	for _, c := range group {
		close(c.done)
	}
}

// store appends the group's events and sets each call's outcome.
func (l *EventLog) store(ctx context.Context, group []*appendCall) {
	err := l.appendNew(ctx, group)
	if err == nil {
		pgdb.NotifierOf(l.db).Poke(pgdb.ChannelLog)
	}
	// Something in the group is known already (a duplicate, an order of
	// another widget) or raced with a concurrent group: the unique indexes
	// refused the whole statement, and the group is judged event by event.
	// A concurrent request may store the same event_id or order between a
	// pass's check and its insert: the unique indexes refuse it and the next
	// pass sees it as stored. Two transactions inserting the same event_ids
	// in different orders may deadlock; the one PostgreSQL aborts passes
	// again. Passes go on until the group's deadline: on a busy machine,
	// four groups of the same 150 events in opposite orders lost five
	// passes in a row to one another.
	for pass := 0; pass < maxJudgingPasses && ctx.Err() == nil &&
		(refusedAppend(err) || pgdb.IsDeadlock(err) || errors.Is(err, errOrderRace)); pass++ {
		err = pgdb.InTx(ctx, l.db, func(ctx context.Context, tx *sql.Tx) error {
			return appendGroup(ctx, tx, pgdb.PreparedTx{Tx: tx, Stmts: l.stmts}, group)
		})
	}
	switch {
	case err == nil:
		return
	case ctx.Err() != nil:
		// A store that cannot take the group within appendTimeout is as good
		// as unreachable; whatever it did, the events are idempotent, so the
		// clients may send them again.
		err = fmt.Errorf("%w: %w", app.ErrUnavailable, err)
	case len(group) > 1 && !errors.Is(pgdb.Unavailable(err), app.ErrUnavailable):
		// The group failed for a reason of its own, such as one call's value
		// the store cannot hold: each call is stored on its own, so that one
		// request's content never changes another request's answer.
		for _, c := range group {
			l.store(ctx, []*appendCall{c})
		}
		return
	}
	for _, c := range group {
		if c.err == nil {
			c.err, c.result = pgdb.RefusedValue(pgdb.Unavailable(err)), app.AppendResult{}
		}
	}
}

// refusedAppend tells the ways ctj_append_events refuses a call that
// brings something already known (see migration 003): unique violation,
// not-null violation, cardinality violation. A judging pass refuses by the
// first only.
func refusedAppend(err error) bool { return pgdb.HasCode(err, "23505", "23502", "21000") }

// appendNew is the group's fast path: if every event is new and every order
// new or of the same widget, one autocommitted statement appends them all
// and ties the new orders (ctj_append_events, migrations 003 and 011): one
// round trip, where judging takes a transaction of five. Anything already
// known makes a constraint refuse the whole statement (refusedAppend), and
// the caller judges the group instead. The events travel as one JSON array
// of their canonical form, so the statement's text is the same for one
// event or a thousand: prepared once per connection, its plan kept.
func (l *EventLog) appendNew(ctx context.Context, group []*appendCall) error {
	size, n := 2, 0
	for _, c := range group {
		for _, e := range c.events {
			size, n = size+len(e.Canonical)+1, n+1
		}
		c.err, c.result = nil, app.AppendResult{Accepted: len(c.events)}
	}
	if n == 0 {
		return nil
	}
	var events strings.Builder
	events.Grow(size)
	events.WriteByte('[')
	for _, c := range group {
		for _, e := range c.events {
			if events.Len() > 1 {
				events.WriteByte(',')
			}
			events.Write(e.Canonical)
		}
	}
	events.WriteByte(']')
	if _, err := l.stmts.ExecContext(ctx, `SELECT ctj_append_events($1)`, events.String()); err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	return nil
}

// appendGroup judges each call against the log and the calls before it in
// the group, then stores what the accepted calls bring, in one transaction.
// q runs its fixed queries in tx, prepared when the group owns tx.
func appendGroup(ctx context.Context, tx *sql.Tx, q pgdb.Querier, group []*appendCall) error {
	var all []app.NewEvent
	for _, c := range group {
		c.err, c.result = nil, app.AppendResult{}
		all = append(all, c.events...)
	}
	stored, widgetOf, err := knownEventsAndOrders(ctx, q, all)
	if err != nil {
		return err
	}
	var msgs []*message.Message
	var newOrders, newWidgets []string
	for _, c := range group {
		accepted, newOrd, err := app.JudgeAppend(c.events, stored, widgetOf)
		if err != nil {
			c.err = err
			continue
		}
		for _, e := range accepted {
			stored[e.Event.EventID] = e.Canonical
			msgs = append(msgs, message.NewMessage(e.Event.EventID, e.Canonical))
		}
		for _, o := range newOrd {
			widgetOf[o.Event.OrderID] = o.Event.WidgetID
			newOrders, newWidgets = append(newOrders, o.Event.OrderID), append(newWidgets, o.Event.WidgetID)
		}
		c.result = app.AppendResult{Accepted: len(accepted), Duplicates: len(c.events) - len(accepted)}
	}
	if err := tieOrders(ctx, q, newOrders, newWidgets); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	return pgdb.Publish(ctx, tx, msgs...)
}

// knownEventsAndOrders looks up, in one round trip, the events already in
// the log (their canonical bytes, re-marshalled so that JSONB's key order
// does not matter) and the widget each already known order is tied to.
func knownEventsAndOrders(ctx context.Context, tx pgdb.Querier, events []app.NewEvent) (stored map[string][]byte, widgetOf map[string]string, err error) {
	ids, orders := make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		ids[i], orders[i] = e.Event.EventID, e.Event.OrderID
	}
	rows, err := tx.QueryContext(ctx, `SELECT true, uuid, payload::text FROM ctj_log WHERE uuid = ANY($1)
		UNION ALL SELECT false, order_id, widget_id FROM ctj_order_widgets WHERE order_id = ANY($2)`,
		pq.Array(ids), pq.Array(orders))
	if err != nil {
		return nil, nil, fmt.Errorf("look up event ids and orders: %w", err)
	}
	defer rows.Close()
	stored, widgetOf = map[string][]byte{}, map[string]string{}
	for rows.Next() {
		var (
			isEvent bool
			id      string
			value   []byte
		)
		if err := rows.Scan(&isEvent, &id, &value); err != nil {
			return nil, nil, fmt.Errorf("scan known event or order: %w", err)
		}
		if !isEvent {
			widgetOf[id] = string(value)
			continue
		}
		e, err := wire.UnmarshalEvent(value)
		if err != nil {
			return nil, nil, fmt.Errorf("stored event %s: %w", id, err)
		}
		if stored[id], err = wire.MarshalEvent(e); err != nil {
			return nil, nil, fmt.Errorf("stored event %s: %w", id, err)
		}
	}
	return stored, widgetOf, rows.Err()
}

// tieOrders ties new orders to their widgets; if a concurrent transaction
// tied one first, errOrderRace sends the group round again.
func tieOrders(ctx context.Context, tx pgdb.Querier, orders, widgets []string) error {
	if len(orders) == 0 {
		return nil
	}
	// In order_id order, so that transactions tying the same new orders
	// wait for each other instead of deadlocking.
	res, err := tx.ExecContext(ctx, `INSERT INTO ctj_order_widgets (order_id, widget_id)
		SELECT * FROM unnest($1::text[], $2::text[]) AS u(order_id, widget_id) ORDER BY order_id
		ON CONFLICT DO NOTHING`, pq.Array(orders), pq.Array(widgets))
	if err != nil {
		return fmt.Errorf("tie orders to widgets: %w", err)
	}
	if n, _ := res.RowsAffected(); int(n) != len(orders) {
		return errOrderRace
	}
	return nil
}
