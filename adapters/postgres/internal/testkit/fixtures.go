package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/app/storetest"
	"ctjournal/domain"
	"ctjournal/wire"
)

// T0 is when the fixtures' calls were ordered.
var T0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// readModels are the tables a rebuild recreates, each with the order its
// rows are compared in. seq is left out of the rows: the live sequence may
// skip numbers (rolled-back tries), a rebuild numbers densely; the order
// by seq is compared.
var readModels = []struct{ table, order string }{
	{"ctj_policy_versions", "widget_id, version"},
	{"ctj_orders", "order_id"},
	{"ctj_order_events", "seq"},
	{"ctj_decisions", "order_id, attempt"},
	{"ctj_delivery_tries", "seq"},
}

// Dump returns every row of the read models, table by table, as JSON.
func Dump(t testing.TB, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range readModels {
		out[m.table] = Texts(t, db, fmt.Sprintf(`SELECT (to_jsonb(t) - 'seq')::text FROM %s t ORDER BY %s`, m.table, m.order))
	}
	return out
}

// Digest is Dump as one md5 per table, for big models.
func Digest(t testing.TB, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range readModels {
		rows := Texts(t, db, fmt.Sprintf(`SELECT count(*) || ' rows ' || COALESCE(md5(string_agg((to_jsonb(t) - 'seq')::text, '|' ORDER BY %s)), '')
			FROM %s t`, m.order, m.table))
		out[m.table] = rows[0]
	}
	return out
}

// QueueRows dumps the delivery queue, which a rebuild must not touch.
func QueueRows(t testing.TB, db *sql.DB) []string {
	return Texts(t, db, `SELECT to_jsonb(d)::text FROM ctj_deliveries d ORDER BY key`)
}

// SameDump fails with the first difference between two dumps.
func SameDump(t testing.TB, before, after map[string][]string) {
	t.Helper()
	for _, m := range readModels {
		b, a := before[m.table], after[m.table]
		for i := range max(len(b), len(a)) {
			var x, y string
			if i < len(b) {
				x = b[i]
			}
			if i < len(a) {
				y = a[i]
			}
			if x != y {
				t.Fatalf("%s differs at row %d of %d/%d:\nbefore: %s\nafter:  %s", m.table, i, len(b), len(a), x, y)
			}
		}
	}
}

// Rebuild runs a rebuild to its end.
func Rebuild(t testing.TB, db *sql.DB, cfg rebuild.Config) app.RebuildResult {
	t.Helper()
	res, err := app.NewRebuildReadModels(rebuild.New(db, cfg), time.Now).Handle(context.Background(), Quiet{})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	return res
}

// Quiet is a progress that shows nothing; OnAdvance, when set, hears
// every page.
type Quiet struct{ OnAdvance func(n int) }

func (Quiet) Started(int64) {}
func (p Quiet) Advanced(n int) {
	if p.OnAdvance != nil {
		p.OnAdvance(n)
	}
}
func (Quiet) Stage(string) {}

// Policy is an enabled after-call policy for server, changed by set.
func Policy(server string, set func(p *domain.Policy)) domain.Policy {
	p := domain.Policy{Enabled: true, SiteID: "12345", Server: server, Token: "tok-0123456789abcdef",
		Hook: domain.HookAfterCall, SendFormName: true, SendOrderDate: true, CommentDetails: true}
	if set != nil {
		set(&p)
	}
	return p
}

func SetPolicy(t testing.TB, db *sql.DB, widgetID string, p domain.Policy) {
	t.Helper()
	_, err := eventlog.NewPolicies(db).UpdatePolicy(context.Background(), widgetID, func(*app.StoredPolicy) (domain.Policy, error) { return p, nil })
	if err != nil {
		t.Fatalf("set policy of %s: %v", widgetID, err)
	}
}

// Events builds an order's call events by pattern (patterns cycle):
// failed then answered, answered at once, two failures with the last
// reported, no session id, facts before the order, deferred, tap-to-call,
// a conflicting failure after the answer, one failure (finality unknown),
// an outcome without its order.
func Events(orderID, widgetID string, pattern int, at time.Time) []domain.CallEvent {
	ordered := func(set func(o *domain.OrderData)) domain.CallEvent {
		o := &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567", SessionID: "ct-" + orderID,
			FormName: "Обратный звонок", Details: map[string]string{"page": "/prices"}}
		if set != nil {
			set(o)
		}
		return domain.CallEvent{EventID: uuid.NewString(), Type: domain.CallOrdered, OrderID: orderID, WidgetID: widgetID, OccurredAt: at, Order: o}
	}
	attempt := func(typ domain.EventType, n int) domain.CallEvent {
		e := domain.CallEvent{EventID: uuid.NewString(), Type: typ, OrderID: orderID, WidgetID: widgetID,
			OccurredAt: at.Add(time.Duration(n) * time.Minute), Attempt: n}
		switch typ {
		case domain.CallAnswered:
			talk := 30 + n
			e.TalkSeconds = &talk
		case domain.CallFailed:
			e.FailReason = "no_answer"
		}
		return e
	}
	const (
		dialed   = domain.CallDialed
		answered = domain.CallAnswered
		failed   = domain.CallFailed
		last     = domain.CallLastAttempt
	)
	switch pattern % 10 {
	case 0:
		return []domain.CallEvent{ordered(nil), attempt(dialed, 1), attempt(failed, 1), attempt(dialed, 2), attempt(answered, 2)}
	case 1:
		return []domain.CallEvent{ordered(nil), attempt(dialed, 1), attempt(answered, 1)}
	case 2:
		return []domain.CallEvent{ordered(nil), attempt(failed, 1), attempt(failed, 2), attempt(last, 2)}
	case 3:
		return []domain.CallEvent{ordered(func(o *domain.OrderData) { o.SessionID = "" }), attempt(answered, 1)}
	case 4:
		return []domain.CallEvent{attempt(last, 1), attempt(failed, 1), ordered(nil)}
	case 5:
		return []domain.CallEvent{ordered(func(o *domain.OrderData) { s := at.Add(24 * time.Hour); o.ScheduledAt = &s }), attempt(answered, 1)}
	case 6:
		return []domain.CallEvent{ordered(func(o *domain.OrderData) {
			o.Kind, o.ClientPhone, o.ManagerPhone = domain.KindTap2Call, "", "74951234567"
		}), attempt(answered, 1)}
	case 7:
		return []domain.CallEvent{ordered(nil), attempt(answered, 1), attempt(failed, 1)}
	case 8:
		return []domain.CallEvent{ordered(nil), attempt(failed, 1)}
	default:
		return []domain.CallEvent{attempt(answered, 1)}
	}
}

// Order is one order of a fixture history.
type Order struct {
	ID, Widget string
	Events     []domain.CallEvent
}

// History builds n orders per widget, patterns cycling, ordered a minute
// apart from T0.
func History(prefix string, widgets []string, n int) []Order {
	var out []Order
	for i := range n {
		for wi, w := range widgets {
			id := fmt.Sprintf("%s-%s-%03d", prefix, w, i)
			out = append(out, Order{ID: id, Widget: w, Events: Events(id, w, i+wi, T0.Add(time.Duration(i)*time.Minute))})
		}
	}
	return out
}

// Append appends the orders' events interleaved: round by round, the
// next event of every order, in batches of at most batch events.
func Append(t testing.TB, db *sql.DB, orders []Order, batch int) int {
	t.Helper()
	log := eventlog.NewEventLog(db)
	var pending []app.NewEvent
	total := 0
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if _, err := log.Append(context.Background(), pending); err != nil {
			t.Fatalf("append: %v", err)
		}
		total += len(pending)
		pending = pending[:0]
	}
	for round := 0; ; round++ {
		any := false
		for _, o := range orders {
			if round >= len(o.Events) {
				continue
			}
			any = true
			e := o.Events[round]
			canonical, err := wire.MarshalEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, app.NewEvent{Event: e, Canonical: canonical, Index: len(pending)})
			if len(pending) == batch {
				flush()
			}
		}
		if !any {
			break
		}
	}
	flush()
	return total
}

// Running is a running projection (and, with a Calltouch, delivery).
type Running struct {
	Stop func()
}

// StartLiveProjection runs the live projection router on db.
func StartLiveProjection(t testing.TB, db *sql.DB) *Running {
	t.Helper()
	project := app.NewProjectRecord(projection.NewReadModel(db), projection.NewOutbox(db, 24*time.Hour))
	router, err := projection.NewRouter(db, project, projection.Config{
		Batch: 500, PollInterval: 20 * time.Millisecond, Wake: make(chan struct{}),
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	select {
	case <-router.Running():
	case err := <-done:
		t.Fatalf("projection router: %v", err)
	}
	var once sync.Once
	e := &Running{Stop: func() {
		once.Do(func() {
			cancel()
			router.Close()
			<-done
		})
	}}
	t.Cleanup(e.Stop)
	return e
}

// StartDelivery runs the delivery worker against Calltouch as the policies
// name it.
func StartDelivery(t testing.TB, db *sql.DB) func() {
	t.Helper()
	deliver, err := delivery.NewWorker(app.Ports{DeliveryQueue: queue.NewDeliveries(db), Policies: eventlog.NewPolicies(db),
		Calltouch: calltouch.New(2*time.Second, "test"), SiteLimiter: queue.NewSiteRate(db, 0)},
		delivery.Config{Owner: "rb-test", Retry: domain.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
			TryTimeout: 2 * time.Second, Lease: 10 * time.Second, Batch: 64, Parallel: 8, AllowedHosts: storetest.AllowedHosts(),
			Jitter: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); deliver.Run(ctx, make(chan struct{}), 10*time.Millisecond) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// WaitProjected waits until the projection has folded the whole log.
func WaitProjected(t testing.TB, db *sql.DB) {
	t.Helper()
	WaitFor(t, 90*time.Second, "the projection to fold the whole log", func() bool {
		return Count(t, db, `SELECT count(*) FROM ctj_log l, ctj_log_offsets o WHERE o.consumer_group = 'projection'
			AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked)`) == 0 &&
			Count(t, db, `SELECT count(*) FROM ctj_log_offsets WHERE consumer_group = 'projection'`) == 1
	})
}

func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SchemaGone fails if a rebuild left its schema behind.
func SchemaGone(t testing.TB, db *sql.DB) {
	t.Helper()
	if n := Count(t, db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'ctj_rebuild'`); n != 0 {
		t.Fatal("schema ctj_rebuild is still there")
	}
}

// ProjectedHistory projects a history of every pattern for "plain" (no
// filter), "succ" (only_successful) and "none" (no policy).
func ProjectedHistory(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := pgtest.NewDatabase(t)
	SetPolicy(t, db, "plain", Policy("http://127.0.0.1:1", nil))
	SetPolicy(t, db, "succ", Policy("http://127.0.0.1:1", func(p *domain.Policy) { p.OnlySuccessful = true }))
	Append(t, db, History("o", []string{"plain", "succ", "none"}, 20), 40)
	projection := StartLiveProjection(t, db)
	WaitProjected(t, db)
	projection.Stop()
	return db
}
