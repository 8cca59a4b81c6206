package rebuild

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"time"

	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// bulkModel is the rebuild's app.ReadModel: it keeps the state of recently
// touched orders in memory and streams rows into the copies. An event's
// row and a try's row are final when folded and go out at once; an order's
// row and decisions go out when the order leaves memory (least recently
// touched first, once maxOrders are held) or at the end. An order touched
// again after leaving is read back from the copies, which is rare: an
// order's events come close together in the log.
//
// A lead's tries, give-ups and redeliveries move its status as the live
// projection does (leadState.move), on the order in memory. The few that arrive
// after their order left memory are left to sealing, which derives those
// leads' statuses from their rows in the copy.
type bulkModel struct {
	w         *bulkWriter
	enc       *orderEncoder
	loader    *orderLoader
	maxOrders int

	policies map[string]*widgetPolicies
	orders   map[string]*cachedOrder
	left     map[uint64]struct{} // hashes of orders that left memory
	seed     maphash.Seed
	clock    uint64
	eventSeq int64
	trySeq   int64
	reloads  int
	lateKeys map[domain.LeadKey]struct{} // leads sealing derives the status of
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
	leads       map[int]*pgrows.LeadState // by attempt: send decisions tried, given up or redelivered
}

func newBulkModel(w *bulkWriter, loader *orderLoader, maxOrders int) *bulkModel {
	m := &bulkModel{w: w, loader: loader, maxOrders: maxOrders, policies: map[string]*widgetPolicies{},
		orders: map[string]*cachedOrder{}, left: map[uint64]struct{}{}, seed: maphash.MakeSeed(), lateKeys: map[domain.LeadKey]struct{}{}}
	m.enc = startOrderEncoder(m)
	return m
}

func (m *bulkModel) RecordPolicy(_ context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	w := m.policies[c.WidgetID]
	if w == nil {
		w = &widgetPolicies{versions: map[int]domain.Placement{}}
		m.policies[c.WidgetID] = w
	}
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	placement, err := app.PlacementOf(c.WidgetID, c.Version, body) // as the live projection reads it back
	if err != nil {
		return err
	}
	if _, known := w.versions[c.Version]; known {
		return nil // as ON CONFLICT DO NOTHING: the first record of a version stands
	}
	w.versions[c.Version] = placement
	if c.Version > w.latest.Version {
		w.latest = placement
	}
	m.w.row(targetPolicies).text(c.WidgetID).int(int64(c.Version)).bytes(body).text(c.TokenMasked).int(position).time(recordedAt)
	return m.w.endRow(targetPolicies)
}

func (m *bulkModel) PolicyInForce(_ context.Context, widgetID string) (domain.Placement, error) {
	if w := m.policies[widgetID]; w != nil {
		return w.latest, nil
	}
	return domain.Placement{}, nil
}

// placement is the policy version an order read back from the copies was
// placed under.
func (m *bulkModel) placement(widgetID string, version int) domain.Placement {
	if w := m.policies[widgetID]; w != nil && version > 0 {
		if p, ok := w.versions[version]; ok {
			return p
		}
	}
	return domain.Placement{}
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
	if err := holdable(change); err != nil {
		return err
	}
	e := change.Event
	if fresh {
		o.first = e.Position
		m.orders[orderID] = o
	}
	m.clock++
	o.state, o.last, o.touched = change.State, e.Position, m.clock
	if err := m.addEvent(e, change.TransactionID); err != nil {
		return err
	}
	if len(m.orders) > m.maxOrders {
		return m.evict()
	}
	return nil
}

func (m *bulkModel) RecordTry(_ context.Context, t app.DeliveryTried, position int64) error {
	if err := leadEventHoldable(position, t.Key, t.At); err != nil {
		return err
	}
	m.moveLead(t.OrderID, t.Key, t.Try, t.At, app.StatusAfterTry(t.Outcome))
	return m.addTry(position, t.Key, t.Try, t.At, t.DurationMS, t.HTTPStatus, t.Response, t.Error, string(t.Outcome))
}

func (m *bulkModel) RecordGiveUp(_ context.Context, g app.LeadGivenUp, position int64) error {
	if err := leadEventHoldable(position, g.Key, g.At); err != nil {
		return err
	}
	m.moveLead(g.OrderID, g.Key, 0, g.At, app.StatusFailed)
	return m.addTry(position, g.Key, 0, g.At, 0, 0, "", g.Reason, "given_up")
}

func (m *bulkModel) RecordRedelivery(_ context.Context, r app.RedeliveryRequested, position int64) error {
	if err := leadEventHoldable(position, r.Key, r.At); err != nil {
		return err
	}
	m.moveLead(r.OrderID, r.Key, 0, r.At, app.StatusPending)
	return m.addTry(position, r.Key, 0, r.At, 0, 0, "", "", "redelivery_requested")
}

// moveLead applies one entry of a lead's delivery history to the order in
// memory, as the live projection applies it to the row. A lead whose order
// is not in memory, or one already left to sealing, is left to sealing.
func (m *bulkModel) moveLead(orderID string, key domain.LeadKey, try int, at time.Time, status string) {
	o := m.orders[orderID]
	if _, late := m.lateKeys[key]; late || o == nil {
		m.lateKeys[key] = struct{}{}
		return
	}
	i := slices.IndexFunc(o.state.Decisions, func(d domain.Decision) bool { return d.Key == key })
	if i < 0 {
		return // no such lead: the live UPDATE finds no row either
	}
	attempt := o.state.Decisions[i].Attempt
	if o.leads == nil {
		o.leads = map[int]*pgrows.LeadState{}
	}
	l := o.leads[attempt]
	if l == nil {
		l = &pgrows.LeadState{Status: pgrows.StatusOf[o.state.Decisions[i].Verdict]}
		o.leads[attempt] = l
	}
	l.Move(try, at, status)
}

var _ app.ReadModel = (*bulkModel)(nil)
