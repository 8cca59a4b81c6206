package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/app"
	"ctjournal/domain"
)

type fakeHistory []app.HistoryOrder

func (h fakeHistory) WidgetHistory(_ context.Context, _ app.HistoryFilter, each func(app.HistoryOrder) error) error {
	for _, o := range h {
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}

var simT0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func simPolicy(set func(*domain.Policy)) domain.Policy {
	p := domain.Policy{Enabled: true, SiteID: "1", Server: "api.calltouch.ru", Token: "secret-token-1234", Hook: domain.HookAfterCall}
	if set != nil {
		set(&p)
	}
	return p
}

// simOrder folds events under policy, as the projection recorded them.
func simOrder(id string, policy domain.Policy, types ...domain.EventType) app.HistoryOrder {
	o := app.HistoryOrder{OrderID: id, WidgetID: "w", Statuses: map[int]string{}}
	state := domain.OrderState{OrderID: id}
	attempt := 0
	for i, typ := range types {
		e := domain.CallEvent{EventID: uuid.NewString(), Type: typ, OrderID: id, WidgetID: "w", OccurredAt: simT0}
		if typ == domain.CallOrdered {
			e.Order = &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567", SessionID: "s"}
		} else {
			if typ == domain.CallDialed {
				attempt++
			}
			e.Attempt = attempt
		}
		logged := domain.LoggedEvent{CallEvent: e, Position: int64(i + 1), RecordedAt: simT0.Add(time.Duration(i) * time.Second)}
		state, _ = state.Fold(logged, domain.Placement{Version: 1, Policy: &policy})
		o.Events = append(o.Events, logged)
	}
	o.Decisions = state.Decisions
	for _, d := range o.Decisions {
		o.Statuses[d.Attempt] = map[domain.Verdict]string{domain.Send: "delivered", domain.Skip: "skipped", domain.Wait: "waiting"}[d.Verdict]
	}
	return o
}

func TestSimulate_OnlySuccessfulRemovesFailedAttemptsAndRekeysAnswered(t *testing.T) {
	recorded := simPolicy(nil)
	history := fakeHistory{
		simOrder("a", recorded, domain.CallOrdered, domain.CallDialed, domain.CallFailed, domain.CallDialed, domain.CallAnswered),
		simOrder("b", recorded, domain.CallOrdered, domain.CallDialed, domain.CallFailed),
	}
	r, err := app.NewSimulatePolicy(history).Handle(context.Background(), app.HistoryFilter{WidgetID: "w"},
		simPolicy(func(p *domain.Policy) { p.OnlySuccessful = true }))
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Removed != 2 || r.Totals.Changed != 1 || r.Totals.Added != 0 || r.Totals.Unchanged != 0 {
		t.Fatalf("totals %+v: want a~1 and b~1 removed, a~2 changed to key a", r.Totals)
	}
	for _, c := range r.Removed {
		if c.After.Decision != "skip" || c.Before.Status != "delivered" || *c.Attempt != 1 {
			t.Fatalf("removed %+v → %+v", c.Before, c.After)
		}
	}
	if c := r.Changed[0]; *c.Before.Key != "a~2" || *c.After.Key != "a" || c.After.Status != "" {
		t.Fatalf("changed %+v → %+v", c.Before, c.After)
	}
	if r.Totals.Before.Leads != 3 || r.Totals.After.Leads != 1 || r.Totals.After.Skipped != 2 {
		t.Fatalf("before %+v, after %+v", r.Totals.Before, r.Totals.After)
	}
	if r.Policy.Token != "" {
		t.Fatal("the report shows the policy's token")
	}
}

func TestSimulate_DisablingRemovesEveryLeadAndEnablingAddsThem(t *testing.T) {
	on, off := simPolicy(nil), simPolicy(func(p *domain.Policy) { p.Enabled = false })
	order := []domain.EventType{domain.CallOrdered, domain.CallDialed, domain.CallAnswered}
	r, err := app.NewSimulatePolicy(fakeHistory{simOrder("a", on, order...)}).Handle(context.Background(), app.HistoryFilter{}, off)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Removed != 1 {
		t.Fatalf("disabling: %+v", r.Totals)
	}
	r, err = app.NewSimulatePolicy(fakeHistory{simOrder("a", off, order...)}).Handle(context.Background(), app.HistoryFilter{}, on)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Added != 1 || *r.Added[0].After.Key != "a~1" {
		t.Fatalf("enabling: %+v", r.Totals)
	}
}

func TestSimulate_SamePolicyChangesNothing(t *testing.T) {
	p := simPolicy(func(p *domain.Policy) { p.OnlyLastAttempt = true })
	history := fakeHistory{
		simOrder("a", p, domain.CallOrdered, domain.CallDialed, domain.CallFailed, domain.CallLastAttempt),
		simOrder("b", p, domain.CallOrdered, domain.CallDialed, domain.CallFailed),
	}
	r, err := app.NewSimulatePolicy(history).Handle(context.Background(), app.HistoryFilter{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Added+r.Totals.Removed+r.Totals.Changed != 0 || r.Totals.Unchanged != 2 {
		t.Fatalf("totals %+v", r.Totals)
	}
}
