package rebuild

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"ctjournal/adapters/internal/ordercache"
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
	w      *bulkWriter
	enc    *orderEncoder
	loader *orderLoader

	policies *ordercache.Policies
	orders   *ordercache.Cache[pgrows.LeadState]
	eventSeq int64
	trySeq   int64
	reloads  int
	lateKeys map[domain.LeadKey]struct{} // leads sealing derives the status of
}

// cachedOrder is one order's state as the live tables would hold it.
type cachedOrder = ordercache.Order[pgrows.LeadState]

func newBulkModel(w *bulkWriter, loader *orderLoader, maxOrders int) *bulkModel {
	m := &bulkModel{w: w, loader: loader, policies: ordercache.NewPolicies(),
		orders: ordercache.New[pgrows.LeadState](maxOrders), lateKeys: map[domain.LeadKey]struct{}{}}
	m.enc = startOrderEncoder(m)
	return m
}

func (m *bulkModel) RecordPolicy(_ context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	placement, err := app.PlacementOf(c.WidgetID, c.Version, body) // as the live projection reads it back
	if err != nil {
		return err
	}
	if m.policies.Known(c.WidgetID, c.Version) {
		return nil // the first record of a version stands
	}
	m.policies.Add(c.WidgetID, c.Version, placement)
	m.w.row(targetPolicies).text(c.WidgetID).int(int64(c.Version)).bytes(body).text(c.TokenMasked).int(position).time(recordedAt)
	return m.w.endRow(targetPolicies)
}

func (m *bulkModel) PolicyInForce(_ context.Context, widgetID string) (domain.Placement, error) {
	return m.policies.InForce(widgetID), nil
}

func (m *bulkModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	// A change the copies cannot hold fails the fold: the order is not held.
	change, err := m.orders.Update(ctx, orderID, func(s domain.OrderState) (*app.OrderChange, error) {
		change, err := fold(s)
		if err != nil || change == nil {
			return nil, err
		}
		return change, holdable(change)
	}, m.readBack)
	if err != nil || change == nil {
		return err
	}
	if err := m.addEvent(change.Event, change.TransactionID); err != nil {
		return err
	}
	if m.orders.Full() {
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
	o := m.orders.Get(orderID)
	if _, late := m.lateKeys[key]; late || o == nil {
		m.lateKeys[key] = struct{}{}
		return
	}
	i := slices.IndexFunc(o.State.Decisions, func(d domain.Decision) bool { return d.Key == key })
	if i < 0 {
		return // no such lead: the live UPDATE finds no row either
	}
	attempt := o.State.Decisions[i].Attempt
	if o.Leads == nil {
		o.Leads = map[int]*pgrows.LeadState{}
	}
	l := o.Leads[attempt]
	if l == nil {
		l = &pgrows.LeadState{Status: pgrows.StatusOf[o.State.Decisions[i].Verdict]}
		o.Leads[attempt] = l
	}
	l.Move(try, at, status)
}

var _ app.ReadModel = (*bulkModel)(nil)
