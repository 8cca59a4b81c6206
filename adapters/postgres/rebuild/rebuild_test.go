package rebuild_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// widgets covers every rule: no filter, each filter, both, before_call,
// tap-to-call on, disabled, and no policy at all.
var widgets = []string{"plain", "succ", "last", "both", "before", "tap", "off", "none"}

func TestRebuild_ReproducesReadModelsRowForRow_AndSendsNothing(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	fake := calltouchfake.New()
	t.Cleanup(fake.Close)
	server := fake.URL()
	policies := map[string]domain.Policy{
		"plain":  testkit.Policy(server, nil),
		"succ":   testkit.Policy(server, func(p *domain.Policy) { p.OnlySuccessful = true }),
		"last":   testkit.Policy(server, func(p *domain.Policy) { p.OnlyLastAttempt = true }),
		"both":   testkit.Policy(server, func(p *domain.Policy) { p.OnlyLastAttempt, p.OnlySuccessful = true, true }),
		"before": testkit.Policy(server, func(p *domain.Policy) { p.Hook = domain.HookBeforeCall }),
		"tap":    testkit.Policy(server, func(p *domain.Policy) { p.Tap2Call = true }),
		"off":    testkit.Policy(server, func(p *domain.Policy) { p.Enabled = false }),
	}
	for w, p := range policies {
		testkit.SetPolicy(t, db, w, p)
	}
	// Some requests fail for a while, some are refused for good.
	fake.Script(calltouchfake.Status(503, "busy"), calltouchfake.Status(400, `{"error":"bad phone"}`),
		calltouchfake.Status(503, "busy"), calltouchfake.Status(422, `{"error":"bad site"}`))
	testkit.StartLiveProjection(t, db)
	stopDelivery := testkit.StartDelivery(t, db)

	orders := testkit.History("o", widgets, 12)
	testkit.Append(t, db, orders[:len(orders)/2], 37)
	// A policy change mid-history: later orders of "plain" get only_successful.
	testkit.SetPolicy(t, db, "plain", testkit.Policy(server, func(p *domain.Policy) { p.OnlySuccessful = true }))
	testkit.Append(t, db, orders[len(orders)/2:], 37)
	testkit.WaitProjected(t, db)
	testkit.WaitFor(t, 30*time.Second, "every lead to be tried to its end", func() bool {
		return testkit.Count(t, db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending'`) == 0
	})
	// Support sends a refused lead again; it is delivered this time.
	var refused string
	if err := db.QueryRow(`SELECT key FROM ctj_deliveries WHERE status = 'failed' ORDER BY key LIMIT 1`).Scan(&refused); err != nil {
		t.Fatalf("no refused lead: %v", err)
	}
	if err := queue.NewDeliveries(db).Redeliver(context.Background(), domain.LeadKey(refused), time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, "the redelivered lead to be delivered", func() bool {
		return testkit.Count(t, db, `SELECT count(*) FROM ctj_deliveries WHERE key = $1 AND status = 'delivered'`, refused) == 1
	})
	stopDelivery()
	// More orders no one delivers: given up after their deadline.
	testkit.Append(t, db, testkit.History("late", []string{"plain"}, 4), 100)
	testkit.WaitProjected(t, db)
	if n, err := queue.NewDeliveries(db).GiveUpExpired(context.Background(), time.Now().Add(48*time.Hour)); err != nil || n == 0 {
		t.Fatalf("give up: %d, %v", n, err)
	}
	testkit.WaitProjected(t, db)

	// Analysts' access survives the swap.
	if _, err := db.Exec(`GRANT SELECT ON ctj_decisions, ctj_orders TO PUBLIC`); err != nil {
		t.Fatal(err)
	}
	grants := `SELECT relname || ' ' || COALESCE(relacl::text, '') FROM pg_class WHERE relname LIKE 'ctj\_%' AND relkind = 'r' ORDER BY relname`
	before, deliveries, requests, acl := testkit.Dump(t, db), testkit.QueueRows(t, db), len(fake.Requests()), testkit.Texts(t, db, grants)
	for _, want := range []string{"delivered", "failed", "skipped", "waiting"} {
		if testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = $1`, want) == 0 {
			t.Fatalf("the history has no %s decision; it should cover every status", want)
		}
	}
	for _, outcome := range []string{"delivered", "transient", "refused", "given_up", "redelivery_requested"} {
		if testkit.Count(t, db, `SELECT count(*) FROM ctj_delivery_tries WHERE outcome = $1`, outcome) == 0 {
			t.Fatalf("the history has no %s try", outcome)
		}
	}

	// Default settings, then few orders in memory (most leave it and are
	// read back), then a second rebuild of a rebuilt database.
	for _, cfg := range []rebuild.Config{{}, {MaxOrders: 5, PageSize: 50, BatchBytes: 2000}, {}} {
		res := testkit.Rebuild(t, db, cfg)
		if res.Events != int64(testkit.Count(t, db, `SELECT count(*) FROM ctj_log`)) {
			t.Fatalf("rebuilt %d events, the log holds %d", res.Events, testkit.Count(t, db, `SELECT count(*) FROM ctj_log`))
		}
		testkit.SameDump(t, before, testkit.Dump(t, db))
		testkit.SchemaGone(t, db)
		if got := testkit.QueueRows(t, db); testkit.JoinLines(got) != testkit.JoinLines(deliveries) {
			t.Fatal("the rebuild changed the delivery queue")
		}
		if got := testkit.Texts(t, db, grants); testkit.JoinLines(got) != testkit.JoinLines(acl) {
			t.Fatalf("privileges after the rebuild:\n%s\nbefore:\n%s", testkit.JoinLines(got), testkit.JoinLines(acl))
		}
		if n := len(fake.Requests()); n != requests {
			t.Fatalf("Calltouch got %d requests during the rebuild", n-requests)
		}
	}

	// The projection keeps working on the swapped-in tables.
	testkit.StartLiveProjection(t, db)
	testkit.Append(t, db, testkit.History("after", []string{"plain"}, 2), 100)
	testkit.WaitProjected(t, db)
	if n := testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE order_id LIKE 'after-%' AND decision = 'send'`); n == 0 {
		t.Fatal("no decision on orders placed after the rebuild")
	}
	if n := testkit.Count(t, db, `SELECT count(*) FROM ctj_deliveries WHERE order_id LIKE 'after-%'`); n == 0 {
		t.Fatal("no lead queued for orders placed after the rebuild")
	}
}

func TestRebuild_InterruptedLeavesOldModels(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	testkit.SetPolicy(t, db, "plain", testkit.Policy("http://127.0.0.1:1", nil))
	testkit.Append(t, db, testkit.History("o", []string{"plain", "none"}, 30), 50)
	projection := testkit.StartLiveProjection(t, db)
	testkit.WaitProjected(t, db)
	projection.Stop()
	before := testkit.Dump(t, db)
	if len(before["ctj_order_events"]) == 0 {
		t.Fatal("no events projected")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pages := 0
	progress := testkit.Quiet{OnAdvance: func(int) {
		if pages++; pages == 2 {
			cancel() // as SIGINT does, between pages
		}
	}}
	_, err := app.NewRebuildReadModels(rebuild.New(db, rebuild.Config{PageSize: 10}), time.Now).Handle(ctx, progress)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: got %v, want context.Canceled", err)
	}
	testkit.SameDump(t, before, testkit.Dump(t, db))
	testkit.SchemaGone(t, db)

	// A failed swap (a view depends on the old table) leaves them too.
	if _, err := db.Exec(`CREATE VIEW analyst_orders AS SELECT * FROM ctj_orders`); err != nil {
		t.Fatal(err)
	}
	_, err = app.NewRebuildReadModels(rebuild.New(db, rebuild.Config{}), time.Now).Handle(context.Background(), testkit.Quiet{})
	if err == nil {
		t.Fatal("rebuild swapped in tables a view depends on")
	}
	testkit.SameDump(t, before, testkit.Dump(t, db))
	testkit.SchemaGone(t, db)
	if _, err := db.Exec(`DROP VIEW analyst_orders`); err != nil {
		t.Fatal(err)
	}
	// And the next rebuild runs (the lock was released).
	testkit.Rebuild(t, db, rebuild.Config{})
	testkit.SameDump(t, before, testkit.Dump(t, db))
}

func TestRebuild_WhileProjectionRuns_KeepsBothConsistent(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	widgets := []string{"plain", "succ", "last", "none"}
	testkit.SetPolicy(t, db, "plain", testkit.Policy("http://127.0.0.1:1", nil))
	testkit.SetPolicy(t, db, "succ", testkit.Policy("http://127.0.0.1:1", func(p *domain.Policy) { p.OnlySuccessful = true }))
	testkit.SetPolicy(t, db, "last", testkit.Policy("http://127.0.0.1:1", func(p *domain.Policy) { p.OnlyLastAttempt = true }))
	projection := testkit.StartLiveProjection(t, db)
	testkit.Append(t, db, testkit.History("pre", widgets, 30), 50)
	testkit.WaitProjected(t, db)

	// The telephony core keeps sending while the rebuild runs.
	stop, appended := make(chan struct{}), make(chan error, 1)
	var batches atomic.Int64 // appended so far
	go func() {
		log := eventlog.NewEventLog(db)
		for i := 0; ; i++ {
			select {
			case <-stop:
				appended <- nil
				return
			default:
			}
			var batch []app.NewEvent
			for _, o := range testkit.History(fmt.Sprintf("live%04d", i), widgets, 1) {
				for _, e := range o.Events {
					canonical, err := wire.MarshalEvent(e)
					if err != nil {
						appended <- err
						return
					}
					batch = append(batch, app.NewEvent{Event: e, Canonical: canonical, Index: len(batch)})
				}
			}
			if _, err := log.Append(context.Background(), batch); err != nil {
				appended <- err
				return
			}
			batches.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	testkit.WaitFor(t, 10*time.Second, "the first batch appended", func() bool { return batches.Load() > 0 })
	t0, first := time.Now(), batches.Load()
	res := testkit.Rebuild(t, db, rebuild.Config{PageSize: 25, SwapGap: 5})
	during := batches.Load() - first
	t.Logf("rebuild took %s; %d batches appended meanwhile", time.Since(t0), during)
	if during == 0 {
		t.Fatal("no batch was appended while the rebuild ran")
	}
	// The projection goes on against the new tables.
	swapped := batches.Load()
	testkit.WaitFor(t, 10*time.Second, "batches appended after the swap", func() bool { return batches.Load() >= swapped+3 })
	close(stop)
	if err := <-appended; err != nil {
		t.Fatalf("append during the rebuild: %v", err)
	}
	testkit.WaitProjected(t, db)
	t.Logf("rebuilt %d events while %d were in the log at the end", res.Events, testkit.Count(t, db, `SELECT count(*) FROM ctj_log`))

	// Every lead decided "send" is queued once: none the live projection
	// decided was lost to the swap.
	sends := testkit.Texts(t, db, `SELECT key FROM ctj_decisions WHERE decision = 'send' ORDER BY key`)
	queued := testkit.Texts(t, db, `SELECT key FROM ctj_deliveries ORDER BY key`)
	if testkit.JoinLines(sends) != testkit.JoinLines(queued) {
		t.Fatalf("%d leads decided send, %d queued", len(sends), len(queued))
	}
	if n := testkit.Count(t, db, `SELECT count(*) FROM ctj_decisions WHERE order_id LIKE 'live%'`); n == 0 {
		t.Fatal("no decision on orders sent during the rebuild")
	}
	// And the models are what the log says: a quiet rebuild changes nothing.
	projection.Stop()
	before := testkit.Dump(t, db)
	testkit.Rebuild(t, db, rebuild.Config{})
	testkit.SameDump(t, before, testkit.Dump(t, db))
}
