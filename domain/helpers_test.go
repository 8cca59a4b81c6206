package domain

import (
	"fmt"
	"time"
)

// Test facts are built as struct literals so these tests do not depend on
// wire.ParseEvent. Every event of one kind and attempt gets the same id, so a
// re-delivery is the same value; withID makes a different fact of that kind.

const (
	testOrder  = "ord-1"
	testWidget = "w-1"
)

var (
	orderedAt  = time.Date(2026, 11, 24, 7, 15, 0, 0, time.UTC) // 24.11.2026 10:15 in Moscow
	scheduled  = time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)  // 25.11.2026 10:00 in Moscow
	recordedAt = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
)

func callEvent(t EventType, attempt int) CallEvent {
	return CallEvent{
		EventID:    fmt.Sprintf("%s-%d", t, attempt),
		Type:       t,
		OrderID:    testOrder,
		WidgetID:   testWidget,
		OccurredAt: orderedAt.Add(time.Duration(attempt) * time.Minute),
		Attempt:    attempt,
	}
}

func ordered(opts ...func(*OrderData)) CallEvent {
	e := callEvent(CallOrdered, 0)
	e.Order = &OrderData{
		Kind:         KindCallback,
		ClientPhone:  "79161234567",
		ManagerPhone: "74951234567",
		SessionID:    "ct-session-1",
		FormName:     "Обратный звонок",
	}
	for _, opt := range opts {
		opt(e.Order)
	}
	return e
}

func deferred(o *OrderData)  { at := scheduled; o.ScheduledAt = &at }
func tap2call(o *OrderData)  { o.Kind, o.ClientPhone = KindTap2Call, "" }
func noSession(o *OrderData) { o.SessionID = "" }

func dialed(n int) CallEvent      { return callEvent(CallDialed, n) }
func lastAttempt(n int) CallEvent { return callEvent(CallLastAttempt, n) }

func answered(n int) CallEvent {
	e := callEvent(CallAnswered, n)
	talk := 42
	e.TalkSeconds = &talk
	return e
}

func failed(n int) CallEvent {
	e := callEvent(CallFailed, n)
	e.FailReason = "no_answer"
	return e
}

func withID(e CallEvent, id string) CallEvent { e.EventID = id; return e }

func forOrder(orderID string, e CallEvent) CallEvent {
	e.OrderID = orderID
	e.EventID = orderID + "/" + e.EventID
	return e
}

// placement is an enabled after_call policy with no filter, changed by opts.
func placement(version int, opts ...func(*Policy)) Placement {
	p := Policy{Enabled: true, SiteID: "12345", Server: "api.calltouch.ru", Token: "secret-token", Hook: HookAfterCall}
	for _, opt := range opts {
		opt(&p)
	}
	return Placement{Version: version, Policy: &p}
}

var noPolicy = Placement{}

func onlySuccessful(p *Policy) { p.OnlySuccessful = true }
func onlyLast(p *Policy)       { p.OnlyLastAttempt = true }
func bothFilters(p *Policy)    { p.OnlySuccessful, p.OnlyLastAttempt = true, true }
func beforeCall(p *Policy)     { p.Hook = HookBeforeCall }
func tap2callOn(p *Policy)     { p.Tap2Call = true }
func disabled(p *Policy)       { p.Enabled = false }
func commentDetails(p *Policy) { p.CommentDetails = true }

// logged places e at log position pos, recorded pos seconds after recordedAt.
func loggedAt(e CallEvent, pos int) LoggedEvent {
	return LoggedEvent{CallEvent: e, Position: int64(pos), RecordedAt: recordedAt.Add(time.Duration(pos) * time.Second)}
}

// fold folds events into an empty order in the order given. start is the
// policy in force at first; changes[i] takes force just before events[i].
func foldAll(start Placement, changes map[int]Placement, events ...CallEvent) (OrderState, []Step) {
	var s OrderState
	var steps []Step
	inForce := start
	for i, e := range events {
		if p, ok := changes[i]; ok {
			inForce = p
		}
		var step Step
		s, step = s.Fold(loggedAt(e, i+1), inForce)
		steps = append(steps, step)
	}
	return s, steps
}

// decisionOf is the decision on attempt n; ok is false when there is none.
func decisionOf(s OrderState, n int) (Decision, bool) {
	for _, d := range s.Decisions {
		if d.Attempt == n {
			return d, true
		}
	}
	return Decision{}, false
}
