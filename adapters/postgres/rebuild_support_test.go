package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/postgres"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// rbT0 is when the fixtures' calls were ordered.
var rbT0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// rbReadModels are the tables a rebuild recreates, each with the order its
// rows are compared in. seq is left out of the rows: the live sequence may
// skip numbers (rolled-back tries), a rebuild numbers densely; the order
// by seq is compared.
var rbReadModels = []struct{ table, order string }{
	{"ctj_policy_versions", "widget_id, version"},
	{"ctj_orders", "order_id"},
	{"ctj_order_events", "seq"},
	{"ctj_decisions", "order_id, attempt"},
	{"ctj_delivery_tries", "seq"},
}

// rbDump returns every row of the read models, table by table, as JSON.
func rbDump(t testing.TB, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range rbReadModels {
		out[m.table] = texts(t, db, fmt.Sprintf(`SELECT (to_jsonb(t) - 'seq')::text FROM %s t ORDER BY %s`, m.table, m.order))
	}
	return out
}

// rbDigest is rbDump as one md5 per table, for big models.
func rbDigest(t testing.TB, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range rbReadModels {
		rows := texts(t, db, fmt.Sprintf(`SELECT count(*) || ' rows ' || COALESCE(md5(string_agg((to_jsonb(t) - 'seq')::text, '|' ORDER BY %s)), '')
			FROM %s t`, m.order, m.table))
		out[m.table] = rows[0]
	}
	return out
}

// rbDeliveries dumps the delivery queue, which a rebuild must not touch.
func rbDeliveries(t testing.TB, db *sql.DB) []string {
	return texts(t, db, `SELECT to_jsonb(d)::text FROM ctj_deliveries d ORDER BY key`)
}

func rbCount(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// rbSameDump fails with the first difference between two dumps.
func rbSameDump(t testing.TB, before, after map[string][]string) {
	t.Helper()
	for _, m := range rbReadModels {
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

// rbRebuild runs a rebuild to its end.
func rbRebuild(t testing.TB, db *sql.DB, cfg postgres.RebuildConfig) app.RebuildResult {
	t.Helper()
	res, err := app.NewRebuildReadModels(postgres.NewRebuilder(db, cfg), time.Now).Handle(context.Background(), rbQuiet{})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	return res
}

// rbQuiet is a progress that shows nothing; onAdvance, when set, hears
// every page.
type rbQuiet struct{ onAdvance func(n int) }

func (rbQuiet) Started(int64) {}
func (p rbQuiet) Advanced(n int) {
	if p.onAdvance != nil {
		p.onAdvance(n)
	}
}
func (rbQuiet) Stage(string) {}

// rbPolicy is an enabled after-call policy for server, changed by set.
func rbPolicy(server string, set func(p *domain.Policy)) domain.Policy {
	p := domain.Policy{Enabled: true, SiteID: "12345", Server: server, Token: "tok-0123456789abcdef",
		Hook: domain.HookAfterCall, SendFormName: true, SendOrderDate: true, CommentDetails: true}
	if set != nil {
		set(&p)
	}
	return p
}

func rbSetPolicy(t testing.TB, db *sql.DB, widgetID string, p domain.Policy) {
	t.Helper()
	_, err := postgres.NewPolicies(db).UpdatePolicy(context.Background(), widgetID, func(*app.StoredPolicy) (domain.Policy, error) { return p, nil })
	if err != nil {
		t.Fatalf("set policy of %s: %v", widgetID, err)
	}
}

// rbEvents builds an order's call events by pattern (patterns cycle):
// failed then answered, answered at once, two failures with the last
// reported, no session id, facts before the order, deferred, tap-to-call,
// a conflicting failure after the answer, one failure (finality unknown),
// an outcome without its order.
func rbEvents(orderID, widgetID string, pattern int, at time.Time) []domain.CallEvent {
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

// rbOrder is one order of a fixture history.
type rbOrder struct {
	id, widget string
	events     []domain.CallEvent
}

// rbHistory builds n orders per widget, patterns cycling, ordered a minute
// apart from rbT0.
func rbHistory(prefix string, widgets []string, n int) []rbOrder {
	var out []rbOrder
	for i := range n {
		for wi, w := range widgets {
			id := fmt.Sprintf("%s-%s-%03d", prefix, w, i)
			out = append(out, rbOrder{id: id, widget: w, events: rbEvents(id, w, i+wi, rbT0.Add(time.Duration(i)*time.Minute))})
		}
	}
	return out
}

// rbAppend appends the orders' events interleaved: round by round, the
// next event of every order, in batches of at most batch events.
func rbAppend(t testing.TB, db *sql.DB, orders []rbOrder, batch int) int {
	t.Helper()
	log := postgres.NewEventLog(db)
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
			if round >= len(o.events) {
				continue
			}
			any = true
			e := o.events[round]
			canonical, err := domain.MarshalEvent(e)
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

// rbEngine is a running projection (and, with a Calltouch, delivery).
type rbEngine struct {
	stop func()
}

// rbStartProjection runs the live projection router on db.
func rbStartProjection(t testing.TB, db *sql.DB) *rbEngine {
	t.Helper()
	project := app.NewProjectRecord(postgres.NewReadModel(db), postgres.NewOutbox(db, 24*time.Hour))
	router, err := postgres.NewProjectionRouter(db, project, postgres.ProjectionConfig{
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
	e := &rbEngine{stop: func() {
		once.Do(func() {
			cancel()
			router.Close()
			<-done
		})
	}}
	t.Cleanup(e.stop)
	return e
}

// rbStartDelivery runs the delivery worker against Calltouch as the policies
// name it.
func rbStartDelivery(t testing.TB, db *sql.DB) func() {
	t.Helper()
	deliver := app.NewDeliverLeads(postgres.NewDeliveries(db), postgres.NewPolicies(db), calltouch.New(2*time.Second, "test"),
		postgres.NewSiteRate(db, 0), time.Now, func() float64 { return 0 },
		app.DeliveryConfig{Owner: "rb-test", Retry: domain.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
			GiveUpAfter: 24 * time.Hour, Lease: 10 * time.Second, Batch: 64, Parallel: 8, AllowedHosts: storetest.AllowedHosts()},
		slog.New(slog.DiscardHandler), func(app.DeliveryTried) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); deliver.Run(ctx, make(chan struct{}), 10*time.Millisecond) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// rbWaitProjected waits until the projection has folded the whole log.
func rbWaitProjected(t testing.TB, db *sql.DB) {
	t.Helper()
	rbWaitFor(t, 90*time.Second, "the projection to fold the whole log", func() bool {
		return rbCount(t, db, `SELECT count(*) FROM ctj_log l, ctj_log_offsets o WHERE o.consumer_group = 'projection'
			AND (l.transaction_id, l."offset") > (o.last_processed_transaction_id, o.offset_acked)`) == 0 &&
			rbCount(t, db, `SELECT count(*) FROM ctj_log_offsets WHERE consumer_group = 'projection'`) == 1
	})
}

func rbWaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rbSchemaGone fails if a rebuild left its schema behind.
func rbSchemaGone(t testing.TB, db *sql.DB) {
	t.Helper()
	if n := rbCount(t, db, `SELECT count(*) FROM pg_namespace WHERE nspname = 'ctj_rebuild'`); n != 0 {
		t.Fatal("schema ctj_rebuild is still there")
	}
}

// rbJoin is strings.Join for failure messages.
func rbJoin(xs []string) string { return strings.Join(xs, "\n") }
