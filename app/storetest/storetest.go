// Package storetest is the contract every ctjournal store meets, written
// against the app interfaces only: each Run function takes a constructor of
// a fresh, empty store and checks one port (app.EventLog, app.PolicyStore,
// app.DeliveryQueue) or, through Engine, the projection and the read
// models behind app.Queries. The PostgreSQL store runs it from
// adapters/postgres; the embedded store runs the same functions.
//
// Every check runs as a parallel subtest on a store of its own, so a
// constructor must give each call an isolated store and release it in
// t.Cleanup.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// T0 is the time the fixtures' facts happened at; whole seconds, so that
// every store keeps it exactly.
var T0 = time.Date(2026, 11, 24, 7, 15, 0, 0, time.UTC)

// Token is the Calltouch token of ValidPolicy: long enough to be masked to
// its last four characters, distinctive enough to be searched for.
const Token = "tok-SECRET-7f3a9c21e5b8"

// AllowedHosts lets policies send to ValidPolicy's server and to a fake
// Calltouch on 127.0.0.1, as the tests' CTJ_CALLTOUCH_ALLOWED_HOSTS.
func AllowedHosts() domain.HostAllowlist {
	a, err := domain.ParseHostAllowlist("127.0.0.1,*.calltouch.ru")
	if err != nil {
		panic(err)
	}
	return a
}

// ValidPolicy is an enabled after-call policy with neither filter: every
// finished attempt becomes a lead.
func ValidPolicy() domain.Policy {
	return domain.Policy{
		Enabled: true, SiteID: "12345", Server: "api-node18.calltouch.ru", Token: Token,
		Hook: domain.HookAfterCall, SendFormName: true,
	}
}

// Ordered is a callback order's call.ordered, with a Calltouch session id.
func Ordered(orderID, widgetID string) domain.CallEvent {
	return domain.CallEvent{
		EventID: uuid.NewString(), Type: domain.CallOrdered, OrderID: orderID, WidgetID: widgetID, OccurredAt: T0,
		Order: &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567", SessionID: "ct-s-1", FormName: "Обратный звонок"},
	}
}

// Dialed, Answered, Failed and LastAttempt are the outcome facts of an attempt.
func Dialed(orderID, widgetID string, attempt int) domain.CallEvent {
	return attemptEvent(domain.CallDialed, orderID, widgetID, attempt)
}

func Answered(orderID, widgetID string, attempt int) domain.CallEvent {
	e := attemptEvent(domain.CallAnswered, orderID, widgetID, attempt)
	talk := 42
	e.TalkSeconds = &talk
	return e
}

func Failed(orderID, widgetID string, attempt int) domain.CallEvent {
	e := attemptEvent(domain.CallFailed, orderID, widgetID, attempt)
	e.FailReason = "no_answer"
	return e
}

func LastAttempt(orderID, widgetID string, attempt int) domain.CallEvent {
	return attemptEvent(domain.CallLastAttempt, orderID, widgetID, attempt)
}

func attemptEvent(typ domain.EventType, orderID, widgetID string, attempt int) domain.CallEvent {
	return domain.CallEvent{
		EventID: uuid.NewString(), Type: typ, OrderID: orderID, WidgetID: widgetID,
		OccurredAt: T0.Add(time.Duration(attempt) * time.Minute), Attempt: attempt,
	}
}

// Batch turns events into what EventLog.Append takes, indexed by position.
func Batch(t testing.TB, events ...domain.CallEvent) []app.NewEvent {
	t.Helper()
	out := make([]app.NewEvent, len(events))
	for i, e := range events {
		canonical, err := wire.MarshalEvent(e)
		if err != nil {
			t.Fatalf("marshal event %d: %v", i, err)
		}
		out[i] = app.NewEvent{Event: e, Canonical: canonical, Index: i}
	}
	return out
}

// wantConflict fails unless err is a *app.ConflictError naming index.
func wantConflict(t testing.TB, err error, index int) {
	t.Helper()
	var conflict *app.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("got error %v, want *app.ConflictError at index %d", err, index)
	}
	if conflict.Index != index {
		t.Fatalf("conflict at index %d (%s), want index %d", conflict.Index, conflict.Message, index)
	}
}

// wantResult fails unless the append counted accepted and duplicates.
func wantResult(t testing.TB, got app.AppendResult, err error, accepted, duplicates int) {
	t.Helper()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if got.Accepted != accepted || got.Duplicates != duplicates {
		t.Fatalf("append stored %d and recognised %d duplicates, want %d and %d",
			got.Accepted, got.Duplicates, accepted, duplicates)
	}
}

// parallel runs each named check as a parallel subtest on a fresh store.
func parallel[S any](t *testing.T, newStore func(t *testing.T) S, checks []check[S]) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore(t))
		})
	}
}

type check[S any] struct {
	name string
	run  func(t *testing.T, store S)
}
