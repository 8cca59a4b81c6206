package sqlite

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"ctjournal/adapters/internal/ordercache"
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
	w      *bulkWriter
	loader *orderLoader

	policies  *ordercache.Policies
	orders    *ordercache.Cache[leadState]
	reloads   int
	lateMoves map[string][]lateMove // by order id
}

// cachedOrder is one order's state as the live tables would hold it.
type cachedOrder = ordercache.Order[leadState]

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
	return &bulkModel{w: w, loader: loader, policies: ordercache.NewPolicies(),
		orders: ordercache.New[leadState](maxOrders), lateMoves: map[string][]lateMove{}}
}

func (m *bulkModel) RecordPolicy(_ context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	if m.policies.Known(c.WidgetID, c.Version) {
		return nil // the first record of a version stands
	}
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	placement, err := app.PlacementOf(c.WidgetID, c.Version, body) // as the live projection reads it back
	if err != nil {
		return err
	}
	m.policies.Add(c.WidgetID, c.Version, placement)
	return m.w.add(tablePolicies, c.WidgetID, int64(c.Version), string(body), c.TokenMasked, position, ts(recordedAt))
}

func (m *bulkModel) PolicyInForce(_ context.Context, widgetID string) (domain.Placement, error) {
	return m.policies.InForce(widgetID), nil
}

func (m *bulkModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	change, err := m.orders.Update(ctx, orderID, fold, m.readBack)
	if err != nil || change == nil {
		return err
	}
	if err := m.addEvent(change.State, change.Event); err != nil {
		return err
	}
	if m.orders.Full() {
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
	o := m.orders.Get(orderID)
	if o == nil {
		if m.orders.HasLeft(orderID) {
			m.lateMoves[orderID] = append(m.lateMoves[orderID], lateMove{key: key, move: move})
		}
		return
	}
	i := slices.IndexFunc(o.State.Decisions, func(d domain.Decision) bool { return d.Key == key })
	if i < 0 {
		return // no such lead: the live UPDATE finds no row either
	}
	leadOf(o, o.State.Decisions[i]).move(move)
}

// leadOf is the state of the order's send decision d, as decided until
// tried.
func leadOf(o *cachedOrder, d domain.Decision) *leadState {
	if o.Leads == nil {
		o.Leads = map[int]*leadState{}
	}
	l := o.Leads[d.Attempt]
	if l == nil {
		l = &leadState{status: statusOf[d.Verdict]}
		o.Leads[d.Attempt] = l
	}
	return l
}

var _ app.ReadModel = (*bulkModel)(nil)
