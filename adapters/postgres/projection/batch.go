package projection

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// projectionBatch is the unit of work of one projection transaction. The
// records of a subscriber batch are folded in memory, each order read
// once and each widget's policy in force read once, and everything they
// change is written at the commit by a few set-based statements (flush),
// instead of a few round trips per record.
//
// A record that fails halfway is undone in memory (mark, undo): nothing
// reaches the database before the flush, so no savepoint is needed.
type projectionBatch struct {
	q        pgdb.Querier
	orders   map[string]batchOrder
	policies map[string]domain.Placement // in force, per widget, as this batch sees it
	warmed   bool                        // orders of the whole batch read ahead
	ahead    map[string]bool             // orders of the poll's records, to read ahead

	newPolicies []policyRow
	events      []eventRow // in fold order
	leads       []deliveryRow
	leadEvents  []leadEventRow // tries, give-ups, redeliveries in log order
	undo        []func()
}

// batchOrder is an order as the batch last left it.
type batchOrder struct {
	state       domain.OrderState
	changed     bool
	first, last int64 // positions of the first and last event folded in this batch
	attempts    []int // decisions this batch changed
}

func newProjectionBatch(q pgdb.Querier) *projectionBatch {
	return &projectionBatch{q: q, orders: map[string]batchOrder{}, policies: map[string]domain.Placement{}}
}

// batchMark is how far the batch had got before a record.
type batchMark struct{ undo, policies, events, leads, leadEvents int }

func (b *projectionBatch) mark() batchMark {
	return batchMark{len(b.undo), len(b.newPolicies), len(b.events), len(b.leads), len(b.leadEvents)}
}

// rollback forgets everything recorded since m.
func (b *projectionBatch) rollback(m batchMark) {
	for i := len(b.undo) - 1; i >= m.undo; i-- {
		b.undo[i]()
	}
	b.undo = b.undo[:m.undo]
	b.newPolicies = b.newPolicies[:m.policies]
	b.events = b.events[:m.events]
	b.leads = b.leads[:m.leads]
	b.leadEvents = b.leadEvents[:m.leadEvents]
}

func (b *projectionBatch) empty() bool {
	return len(b.newPolicies) == 0 && len(b.events) == 0 && len(b.leads) == 0 && len(b.leadEvents) == 0
}

// polled notes the order a record of the poll names, if any.
func (b *projectionBatch) polled(payload []byte) {
	id := pgrows.OrderIDOf(payload)
	if id == "" {
		return
	}
	if b.ahead == nil {
		b.ahead = map[string]bool{}
	}
	b.ahead[id] = true
}

// warm reads ahead the orders of the poll's records, so that folding a
// batch does not read its orders one by one. Best effort: an order it
// misses is read when folded.
func (b *projectionBatch) warm(ctx context.Context) error {
	b.warmed = true
	if len(b.ahead) == 0 {
		return nil
	}
	orders, err := pgrows.LoadOrders(ctx, b.q, `SELECT unnest($1::text[])`, pq.Array(slices.Collect(maps.Keys(b.ahead))))
	if err != nil {
		return err
	}
	for id, s := range orders {
		if _, known := b.orders[id]; !known {
			b.orders[id] = batchOrder{state: s}
		}
	}
	return nil
}

func (b *projectionBatch) policyInForce(ctx context.Context, widgetID string) (domain.Placement, error) {
	if p, ok := b.policies[widgetID]; ok {
		return p, nil
	}
	p, err := pgrows.LatestPlacement(ctx, b.q, widgetID)
	if err != nil {
		return p, err
	}
	b.policies[widgetID] = p
	return p, nil
}

// recordPolicy keeps a policy version; the highest version seen is the one
// in force (versions are numbered under a lock, so the highest is the
// latest change even if two changes reached the log out of order).
func (b *projectionBatch) recordPolicy(ctx context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	inForce, err := b.policyInForce(ctx, c.WidgetID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	// As it reads back from its column; one the rules could not be placed
	// under is refused before it is stored, as the rebuild refuses it.
	placement, err := app.PlacementOf(c.WidgetID, c.Version, body)
	if err != nil {
		return err
	}
	b.newPolicies = append(b.newPolicies, policyRow{WidgetID: c.WidgetID, Version: c.Version, Policy: body,
		TokenMasked: c.TokenMasked, Position: position, RecordedAt: recordedAt})
	if c.Version <= inForce.Version {
		return nil
	}
	b.undo = append(b.undo, func() { b.policies[c.WidgetID] = inForce })
	b.policies[c.WidgetID] = placement
	return nil
}

func (b *projectionBatch) updateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	o, known := b.orders[orderID]
	if !known {
		s, err := pgrows.LoadOrder(ctx, b.q, orderID)
		if err != nil {
			return err
		}
		o = batchOrder{state: s}
		b.orders[orderID] = o
	}
	change, err := fold(o.state)
	if err != nil || change == nil {
		return err
	}
	before := o
	b.undo = append(b.undo, func() { b.orders[orderID] = before })
	e := change.Event
	if !o.changed {
		o.changed, o.first = true, e.Position
	}
	o.state, o.last = change.State, e.Position
	for _, d := range change.Step.Changed {
		o.attempts = append(o.attempts, d.Attempt)
	}
	b.orders[orderID] = o
	b.events = append(b.events, newEventRow(e, change.TransactionID))
	return nil
}

func (b *projectionBatch) enqueue(lead deliveryRow) {
	b.leads = append(b.leads, lead)
}

func (b *projectionBatch) leadEvent(r leadEventRow) {
	b.leadEvents = append(b.leadEvents, r)
}
