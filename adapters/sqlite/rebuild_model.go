package sqlite

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// bulkModel is the rebuild's app.ReadModel: it keeps the state of recently
// touched orders in memory and hands rows to the bulk writer. An event's
// row and a try's row are final when folded and go out at once; an order's
// row and decisions go out when the order leaves memory (least recently
// touched first, once maxOrders are held) or at the end. An order touched
// again after leaving is read back from the copies, which is rare: an
// order's events come close together in the log.
//
// A lead's tries, give-ups and redeliveries move its status as the live
// projection does (ReadModel.leadEvent), on the order in memory. Those
// that come after their order left memory wait in lateMoves, and are
// applied to the lead when its order is read back, or else to its row
// when the bulk phase ends.
type bulkModel struct {
	w         *bulkWriter
	loader    *orderLoader
	maxOrders int

	policies  map[string]*widgetPolicies
	orders    map[string]*cachedOrder
	left      map[uint64]struct{} // hashes of orders that left memory
	seed      maphash.Seed
	clock     uint64
	reloads   int
	lateMoves map[string][]lateMove // by order id
}

type widgetPolicies struct {
	latest   domain.Placement
	versions map[int]domain.Placement
}

// cachedOrder is one order's state as the live tables would hold it.
type cachedOrder struct {
	state       domain.OrderState
	first, last int64 // first_position, last_position
	touched     uint64
	leads       map[int]*leadState // by attempt: send decisions tried, given up or redelivered
}

// leadState is what the projection keeps on a send decision's row.
type leadState struct {
	status      string
	tries       int
	deliveredAt *time.Time
}

// leadMove is one entry of a lead's delivery history: a try (try > 0)
// or not, and the status it moves the lead to (none: the status stays).
type leadMove struct {
	try    int
	at     time.Time
	status string
}

// lateMove is a move of a lead whose order had left memory.
type lateMove struct {
	key  domain.LeadKey
	move leadMove
}

// move applies one entry as leadEvent does: a try counts, a status (when
// given) replaces the lead's, and nothing moves a delivered lead.
func (l *leadState) move(m leadMove) {
	if l.status == app.StatusDelivered {
		return
	}
	if m.try > 0 {
		l.tries++
	}
	if m.status != "" {
		l.status = m.status
	}
	if m.status == app.StatusDelivered {
		at := m.at
		l.deliveredAt = &at
	}
}

func newBulkModel(w *bulkWriter, loader *orderLoader, maxOrders int) *bulkModel {
	return &bulkModel{w: w, loader: loader, maxOrders: maxOrders, policies: map[string]*widgetPolicies{},
		orders: map[string]*cachedOrder{}, left: map[uint64]struct{}{}, seed: maphash.MakeSeed(),
		lateMoves: map[string][]lateMove{}}
}

func (m *bulkModel) RecordPolicy(_ context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	w := m.policies[c.WidgetID]
	if w == nil {
		w = &widgetPolicies{versions: map[int]domain.Placement{}}
		m.policies[c.WidgetID] = w
	}
	if _, known := w.versions[c.Version]; known {
		return nil // as ON CONFLICT DO NOTHING: the first record of a version stands
	}
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	placement, err := app.PlacementOf(c.WidgetID, c.Version, body) // as the live projection reads it back
	if err != nil {
		return err
	}
	w.versions[c.Version] = placement
	if c.Version > w.latest.Version {
		w.latest = placement
	}
	return m.w.add(tablePolicies, c.WidgetID, int64(c.Version), string(body), c.TokenMasked, position, ts(recordedAt))
}

func (m *bulkModel) PolicyInForce(_ context.Context, widgetID string) (domain.Placement, error) {
	if w := m.policies[widgetID]; w != nil {
		return w.latest, nil
	}
	return domain.Placement{}, nil
}

func (m *bulkModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	o := m.orders[orderID]
	if o == nil && m.hasLeft(orderID) {
		if err := m.readBack(ctx, []string{orderID}); err != nil {
			return err
		}
		o = m.orders[orderID]
	}
	fresh := o == nil
	if fresh {
		o = &cachedOrder{state: domain.OrderState{OrderID: orderID}}
	}
	change, err := fold(o.state)
	if err != nil || change == nil {
		return err
	}
	e := change.Event
	if fresh {
		o.first = e.Position
		m.orders[orderID] = o
	}
	m.clock++
	o.state, o.last, o.touched = change.State, e.Position, m.clock
	if err := m.addEvent(change.State, e); err != nil {
		return err
	}
	if len(m.orders) > m.maxOrders {
		return m.evict()
	}
	return nil
}

func (m *bulkModel) RecordTry(_ context.Context, t app.DeliveryTried, position int64) error {
	m.moveLead(t.OrderID, t.Key, leadMove{try: t.Try, at: t.At, status: app.StatusAfterTry(t.Outcome)})
	return m.addTry(leadEvent{position: position, key: t.Key, try: t.Try, at: t.At, durationMS: t.DurationMS,
		httpStatus: t.HTTPStatus, response: t.Response, errText: t.Error, outcome: string(t.Outcome)})
}

func (m *bulkModel) RecordGiveUp(_ context.Context, g app.LeadGivenUp, position int64) error {
	m.moveLead(g.OrderID, g.Key, leadMove{at: g.At, status: app.StatusFailed})
	return m.addTry(leadEvent{position: position, key: g.Key, at: g.At, errText: g.Reason, outcome: app.LeadGivenUpEvent})
}

func (m *bulkModel) RecordRedelivery(_ context.Context, r app.RedeliveryRequested, position int64) error {
	m.moveLead(r.OrderID, r.Key, leadMove{at: r.At, status: app.StatusPending})
	return m.addTry(leadEvent{position: position, key: r.Key, at: r.At, outcome: app.LeadRedeliveryRequestedEvent})
}

// moveLead applies one entry of a lead's delivery history to the order in
// memory, as the live projection applies it to the row. An entry for an
// order that left memory waits for it (lateMoves); one for an order never
// seen finds no row, live as here.
func (m *bulkModel) moveLead(orderID string, key domain.LeadKey, move leadMove) {
	o := m.orders[orderID]
	if o == nil {
		if m.hasLeft(orderID) {
			m.lateMoves[orderID] = append(m.lateMoves[orderID], lateMove{key: key, move: move})
		}
		return
	}
	i := slices.IndexFunc(o.state.Decisions, func(d domain.Decision) bool { return d.Key == key })
	if i < 0 {
		return // no such lead: the live UPDATE finds no row either
	}
	o.lead(o.state.Decisions[i]).move(move)
}

// lead is the state of the send decision d, as decided until tried.
func (o *cachedOrder) lead(d domain.Decision) *leadState {
	if o.leads == nil {
		o.leads = map[int]*leadState{}
	}
	l := o.leads[d.Attempt]
	if l == nil {
		l = &leadState{status: statusOf[d.Verdict]}
		o.leads[d.Attempt] = l
	}
	return l
}

var _ app.ReadModel = (*bulkModel)(nil)
