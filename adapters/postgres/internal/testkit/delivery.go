package testkit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// Ingest appends events to s's log as the API does.
func Ingest(t *testing.T, s Store, events ...domain.CallEvent) {
	t.Helper()
	if _, err := app.NewIngestEvents(s.Log).Handle(context.Background(), events); err != nil {
		t.Fatalf("Ingest: %v", err)
	}
}

// SetValidPolicy sets storetest's valid policy on the widget, changed by
// change when not nil.
func SetValidPolicy(t *testing.T, s Store, widgetID string, change func(*domain.Policy)) {
	t.Helper()
	p := storetest.ValidPolicy()
	if change != nil {
		change(&p)
	}
	if _, err := app.NewSetPolicy(s.Policies, storetest.AllowedHosts()).Handle(context.Background(), widgetID, p); err != nil {
		t.Fatalf("set policy of %s: %v", widgetID, err)
	}
}

// HandoffWorker is a delivery worker on queue whose claim rounds never
// come after the first: no wake-up reaches it and its idle wait is an
// hour. A lead it delivers was handed to it by the projection.
func HandoffWorker(t *testing.T, s Store, q app.DeliveryQueue, parallel, batch int) *delivery.Worker {
	t.Helper()
	return DeliveryWorker(t, s, q, delivery.Config{Owner: "handoff-test", Retry: domain.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Lease: 10 * time.Second, Batch: batch, Parallel: parallel})
}

// DeliveryWorker is a delivery worker on s's policies and queue under
// cfg: Calltouch requests time out after 2 s, the tests' hosts allowed, no
// rate limit, no jitter, nothing logged.
func DeliveryWorker(t testing.TB, s Store, q app.DeliveryQueue, cfg delivery.Config) *delivery.Worker {
	t.Helper()
	cfg.AllowedHosts = storetest.AllowedHosts()
	cfg.TryTimeout = 2 * time.Second
	cfg.Jitter = func() float64 { return 0 }
	w, err := delivery.NewWorker(app.Ports{DeliveryQueue: q, Policies: s.Policies,
		Calltouch: calltouch.New(cfg.TryTimeout, "test"), SiteLimiter: queue.NewSiteRate(s.DB, 0)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// CountedClaims is a delivery queue that counts the claim rounds run on
// it and the leads they took: which tells a lead handed over from one
// that a claim round found.
type CountedClaims struct {
	app.DeliveryQueue
	Rounds, Claimed atomic.Int64
}

func (q *CountedClaims) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]app.ClaimedLead, error) {
	leads, err := q.DeliveryQueue.Claim(ctx, owner, now, leaseUntil, limit)
	q.Claimed.Add(int64(len(leads)))
	q.Rounds.Add(1)
	return leads, err
}

// LeadWidget is a store whose widget w-1 sends its leads to a fake
// Calltouch, and a worker for it, not running yet, whose claim rounds
// are counted.
func LeadWidget(t *testing.T) (Store, *calltouchfake.Server, *delivery.Worker, *CountedClaims) {
	t.Helper()
	s := NewStore(t)
	fake := calltouchfake.New()
	t.Cleanup(fake.Close)
	SetPolicy(t, s.DB, "w-1", Policy(fake.URL(), nil))
	claims := &CountedClaims{DeliveryQueue: s.Deliveries}
	return s, fake, HandoffWorker(t, s, claims, 4, 64), claims
}

// Tried is the try of l answered with status at at.
func Tried(l app.ClaimedLead, status int, at time.Time) app.DeliveryTried {
	return app.DeliveryTried{Type: app.TypeDeliveryTried, Key: l.Key, OrderID: l.OrderID, WidgetID: l.WidgetID,
		Try: l.Tries + 1, At: at, DurationMS: 5, HTTPStatus: status, Response: "answer", Outcome: domain.ClassifyTry(status)}
}

// WantNothingPoisoned fails if a log record went to the poison table.
func WantNothingPoisoned(t *testing.T, s Store) {
	t.Helper()
	if n := Count(t, s.DB, `SELECT count(*) FROM ctj_poison`); n != 0 {
		t.Fatalf("%d log records went to the poison table", n)
	}
}
