package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/adapters/sqlite"
	"ctjournal/adapters/sqlite/sqlitelog"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
	"ctjournal/wire"
)

// modelTables are the read models a rebuild builds, each ordered by its
// key for comparison.
var modelTables = map[string]string{
	"ctj_policy_versions": "widget_id, version",
	"ctj_orders":          "order_id",
	"ctj_order_events":    "position",
	"ctj_decisions":       "order_id, attempt",
	"ctj_delivery_tries":  "position",
}

// rebuildWidgets cover every rule: no filter, each filter, before_call,
// tap-to-call on, and no policy at all.
var rebuildWidgets = []string{"plain", "succ", "last", "before", "tap", "none"}

func rebuildPolicies() map[string]domain.Policy {
	p := map[string]domain.Policy{}
	for _, w := range rebuildWidgets[:5] {
		pol := storetest.ValidPolicy()
		switch w {
		case "succ":
			pol.OnlySuccessful = true
		case "last":
			pol.OnlyLastAttempt = true
		case "before":
			pol.Hook = domain.HookBeforeCall
		case "tap":
			pol.Tap2Call = true
		}
		p[w] = pol
	}
	return p
}

// orderEvents is the history of one order, by pattern: how many attempts,
// which answered, whether it is deferred or a tap-to-call order.
func orderEvents(id, widget string, pattern int) []domain.CallEvent {
	o := storetest.Ordered(id, widget)
	at := storetest.T0.Add(time.Duration(pattern) * time.Second)
	o.OccurredAt = at
	switch pattern % 5 {
	case 1:
		scheduled := at.Add(time.Hour)
		o.Order.ScheduledAt = &scheduled
	case 2:
		o.Order.Kind, o.Order.SessionID = domain.KindTap2Call, ""
	}
	events := []domain.CallEvent{o}
	attempts := 1 + pattern%3
	for a := 1; a <= attempts; a++ {
		var e domain.CallEvent
		if (pattern+a)%2 == 0 {
			e = storetest.Answered(id, widget, a)
		} else {
			e = storetest.Failed(id, widget, a)
		}
		events = append(events, storetest.Dialed(id, widget, a), e)
	}
	if pattern%4 != 3 {
		events = append(events, storetest.LastAttempt(id, widget, attempts))
	}
	for i := range events[1:] {
		events[i+1].OccurredAt = at.Add(time.Duration(i+1) * time.Minute)
	}
	return events
}

// interleaved is the events of the orders, round by round: an order's
// events spread among those of the others.
func interleaved(orders [][]domain.CallEvent) []domain.CallEvent {
	var out []domain.CallEvent
	for round := 0; ; round++ {
		more := false
		for _, o := range orders {
			if round < len(o) {
				out = append(out, o[round])
				more = true
			}
		}
		if !more {
			return out
		}
	}
}

func appendEvents(t testing.TB, log app.EventLog, events []domain.CallEvent, batch int) {
	t.Helper()
	for len(events) > 0 {
		n := min(batch, len(events))
		var b []app.NewEvent
		for i, e := range events[:n] {
			canonical, err := wire.MarshalEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, app.NewEvent{Event: e, Canonical: canonical, Index: i})
		}
		if _, err := log.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		events = events[n:]
	}
}

// appendRecords appends records as they are to the log, as the delivery
// worker or another writer would: tries, give-ups, and records the
// projection cannot apply.
func appendRecords(t testing.TB, path string, records ...any) {
	t.Helper()
	db, err := sqlitelog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, r := range records {
		payload, ok := r.(string)
		if !ok {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			payload = string(b)
		}
		if _, err := db.Exec(`INSERT INTO ctj_log (uuid, payload) VALUES (?, ?)`, uuid.NewString(), payload); err != nil {
			t.Fatal(err)
		}
	}
}

// dump is every row of every read model, each value quoted by SQLite with
// its type, and the tables' and indexes' definitions.
func dump(t testing.TB, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, key := range modelTables {
		var cols []string
		rows, err := db.Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, `quote("`+c+`")`)
		}
		rows.Close()
		out[table] = texts(t, db, `SELECT '`+strings.Join(cols, ` || ' | ' || `)+`' AS columns UNION ALL SELECT * FROM (SELECT `+
			strings.Join(cols, ` || ' | ' || `)+` FROM `+table+` ORDER BY `+key+`)`)
	}
	// A renamed table's name is quoted in its definition.
	out["schema"] = texts(t, db, `SELECT type || ' ' || name || ': ' || replace(COALESCE(sql, ''), '"', '') FROM sqlite_master
		WHERE tbl_name IN ('ctj_policy_versions', 'ctj_orders', 'ctj_order_events', 'ctj_decisions', 'ctj_delivery_tries')
			OR name LIKE 'ctj_rebuild%' ORDER BY name`)
	return out
}

func texts(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// sameDump fails on the first row that differs, column by column.
func sameDump(t testing.TB, want, got map[string][]string) {
	t.Helper()
	for table, rows := range want {
		if len(got[table]) != len(rows) {
			t.Errorf("%s: %d rows, want %d", table, len(got[table]), len(rows))
		}
		for i := range min(len(rows), len(got[table])) {
			if got[table][i] != rows[i] {
				t.Errorf("%s row %d:\n got %s\nwant %s", table, i, got[table][i], rows[i])
				break
			}
		}
	}
}

type quiet struct{ onAdvance func(int) }

func (quiet) Started(int64) {}
func (q quiet) Advanced(n int) {
	if q.onAdvance != nil {
		q.onAdvance(n)
	}
}
func (quiet) Stage(string) {}

func rebuild(t testing.TB, s *sqlite.Store, cfg sqlite.RebuildConfig) app.RebuildResult {
	t.Helper()
	res, err := app.NewRebuildReadModels(s.Rebuilder(cfg), time.Now).Handle(context.Background(), quiet{})
	if err != nil {
		t.Fatalf("rebuild %+v: %v", cfg, err)
	}
	return res
}

func openReader(t testing.TB, s *sqlite.Store) *sql.DB {
	t.Helper()
	db, err := sqlitelog.OpenReader(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func try(key domain.LeadKey, orderID, widget string, n, status int, at time.Time) app.DeliveryTried {
	return app.DeliveryTried{Type: app.TypeDeliveryTried, Key: key, OrderID: orderID, WidgetID: widget, Try: n, At: at,
		DurationMS: int64(80 + n), HTTPStatus: status, Response: fmt.Sprintf(`{"status":%d}`, status), Outcome: domain.ClassifyTry(status)}
}

// TestRebuild_EqualsTheLiveProjection_ColumnByColumn folds a log with
// policy versions, records set aside, deferred and tap-to-call orders,
// every delivery outcome, give-ups, redeliveries and facts that come long
// after their order's others, first through the live projection, then
// through rebuilds: with the default memory, with a few orders in memory
// (most leave it and are read back, most tries arrive after their order
// left), with one. Every rebuild gives the live projection's rows, value
// for value, and the same tables and indexes.
func TestRebuild_EqualsTheLiveProjection_ColumnByColumn(t *testing.T) {
	t.Parallel()
	s, ports, db := projectingStore(t, rebuildPolicies())
	ctx := context.Background()
	var orders [][]domain.CallEvent
	for i := range 240 {
		w := rebuildWidgets[i%len(rebuildWidgets)]
		orders = append(orders, orderEvents(fmt.Sprintf("o-%04d", i), w, i/len(rebuildWidgets)))
	}
	// Leads that wait: to learn whether an attempt is the last, for a
	// call.ordered that never comes.
	orders = append(orders,
		[]domain.CallEvent{storetest.Ordered("w-1", "last"), storetest.Dialed("w-1", "last", 1), storetest.Failed("w-1", "last", 1)},
		[]domain.CallEvent{storetest.Dialed("w-2", "plain", 1), storetest.Answered("w-2", "plain", 1)})
	// The first orders' last facts come at the very end.
	var late []domain.CallEvent
	for i := range 30 {
		n := len(orders[i]) - 1
		late, orders[i] = append(late, orders[i][n]), orders[i][:n]
	}
	appendEvents(t, ports.EventLog, interleaved(orders[:120]), 97)
	// A new version of plain's policy: only answered calls from now on.
	succ := storetest.ValidPolicy()
	succ.OnlySuccessful = true
	if _, err := ports.Policies.UpdatePolicy(ctx, "plain", func(*app.StoredPolicy) (domain.Policy, error) { return succ, nil }); err != nil {
		t.Fatal(err)
	}
	appendRecords(t, s.Path, `{"type":"mystery.happened"}`, `[1, 2]`)
	appendEvents(t, ports.EventLog, interleaved(orders[120:]), 97)
	settle(t, ports.Status)

	// Every lead is tried: delivered at once, or refused, or given up
	// after failing, then redelivered and delivered, in an order that
	// spreads each lead's history over the log.
	var keys []struct {
		key           domain.LeadKey
		order, widget string
	}
	rows, err := db.Query(`SELECT key, order_id, widget_id FROM ctj_decisions WHERE decision = 'send' ORDER BY order_id, attempt`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k struct {
			key           domain.LeadKey
			order, widget string
		}
		if err := rows.Scan(&k.key, &k.order, &k.widget); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) < 50 {
		t.Fatalf("only %d leads decided send", len(keys))
	}
	at := storetest.T0.Add(24 * time.Hour)
	var first, second []any
	for i, k := range keys {
		switch i % 5 {
		case 0:
			first = append(first, try(k.key, k.order, k.widget, 1, 200, at))
			second = append(second, try(k.key, k.order, k.widget, 2, 200, at.Add(time.Hour))) // after delivered: moves nothing
		case 1:
			first = append(first, try(k.key, k.order, k.widget, 1, 503, at))
			second = append(second, try(k.key, k.order, k.widget, 2, 400, at.Add(time.Minute)))
		case 2:
			first = append(first, try(k.key, k.order, k.widget, 1, 503, at))
			second = append(second,
				app.LeadGivenUp{Type: app.TypeLeadGivenUp, Key: k.key, OrderID: k.order, WidgetID: k.widget, At: at.Add(time.Hour), Reason: "deadline passed"},
				app.RedeliveryRequested{Type: app.TypeRedeliveryRequested, Key: k.key, OrderID: k.order, WidgetID: k.widget, At: at.Add(2 * time.Hour)},
				try(k.key, k.order, k.widget, 2, 200, at.Add(3*time.Hour)))
		case 3:
			second = append(second, app.LeadGivenUp{Type: app.TypeLeadGivenUp, Key: k.key, OrderID: k.order, WidgetID: k.widget, At: at, Reason: "deadline passed"})
		}
	}
	// Tries naming a lead no order holds, and an order that does not exist.
	first = append(first, try(domain.LeadKey(keys[0].order+"~9"), keys[0].order, keys[0].widget, 1, 200, at),
		try("ghost", "ghost", "plain", 1, 200, at))
	appendRecords(t, s.Path, first...)
	appendRecords(t, s.Path, second...)
	appendEvents(t, ports.EventLog, late, 7)
	appendRecords(t, s.Path, `{"type":"call.teleported","order_id":"o-0001"}`)
	settle(t, ports.Status)

	for _, want := range []string{"delivered", "failed", "skipped", "waiting", "pending"} {
		if count(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = ?`, want) == 0 {
			t.Fatalf("the history has no %s decision; it should cover every status", want)
		}
	}
	aside := count(t, db, `SELECT count(*) FROM ctj_poison`)
	if aside != 3 {
		t.Fatalf("%d records set aside, want 3", aside)
	}
	before, queue := dump(t, db), texts(t, db, `SELECT key || ' ' || status || ' ' || tries FROM ctj_deliveries ORDER BY key`)
	logged := count(t, db, `SELECT count(*) FROM ctj_log`)

	for _, cfg := range []sqlite.RebuildConfig{{}, {MaxOrders: 5, PageSize: 50, BatchRows: 100}, {MaxOrders: 1, PageSize: 7, BatchRows: 3}} {
		res := rebuild(t, s, cfg)
		if res.Events != int64(logged-aside) || res.Skipped != int64(aside) {
			t.Errorf("rebuild %+v: %d events, %d skipped; the log holds %d, %d set aside", cfg, res.Events, res.Skipped, logged, aside)
		}
		sameDump(t, before, dump(t, db))
		if got := texts(t, db, `SELECT key || ' ' || status || ' ' || tries FROM ctj_deliveries ORDER BY key`); strings.Join(got, "\n") != strings.Join(queue, "\n") {
			t.Errorf("rebuild %+v changed the delivery queue", cfg)
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	// The projection goes on with the rebuilt tables.
	appendEvents(t, ports.EventLog, orderEvents("after-1", "plain", 0), 10)
	settle(t, ports.Status)
	if count(t, db, `SELECT count(*) FROM ctj_decisions WHERE order_id = 'after-1'`) == 0 {
		t.Fatal("no decision on an order placed after the rebuild")
	}
}

// foldedStore is a store whose projection runs and has folded n orders,
// named prefix-0000 on, half of the widget "plain" (with a policy) and half
// of "none", their events interleaved and appended batch at a time.
func foldedStore(t *testing.T, prefix string, n, batch int) (*sqlite.Store, app.Ports, *sql.DB) {
	t.Helper()
	s, ports, db := projectingStore(t, map[string]domain.Policy{"plain": storetest.ValidPolicy()})
	var orders [][]domain.CallEvent
	for i := range n {
		orders = append(orders, orderEvents(fmt.Sprintf("%s-%04d", prefix, i), []string{"plain", "none"}[i%2], i))
	}
	appendEvents(t, ports.EventLog, interleaved(orders), batch)
	settle(t, ports.Status)
	return s, ports, db
}

func TestRebuild_InterruptedLeavesTheLiveModels(t *testing.T) {
	t.Parallel()
	s, _, db := foldedStore(t, "o", 60, 50)
	before := dump(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pages := 0
	progress := quiet{onAdvance: func(int) {
		if pages++; pages == 3 {
			cancel() // as SIGINT does, between pages
		}
	}}
	_, err := app.NewRebuildReadModels(s.Rebuilder(sqlite.RebuildConfig{PageSize: 10, MaxOrders: 3, BatchRows: 5}), time.Now).Handle(ctx, progress)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: got %v, want context.Canceled", err)
	}
	sameDump(t, before, dump(t, db))
	rebuild(t, s, sqlite.RebuildConfig{})
	sameDump(t, before, dump(t, db))
}

// TestRebuild_WhileTheProjectionRuns rebuilds while events keep coming and
// the live projection keeps folding them: the rebuild follows it, and no
// lead it decided is lost to the swap.
func TestRebuild_WhileTheProjectionRuns(t *testing.T) {
	t.Parallel()
	s, ports, db := foldedStore(t, "pre", 300, 100)

	stop, appended := make(chan struct{}), make(chan int, 1)
	go func() {
		n := 0
		for ; ; n++ {
			select {
			case <-stop:
				appended <- n
				return
			default:
			}
			appendEvents(t, ports.EventLog, orderEvents(fmt.Sprintf("live-%04d", n), "plain", n), 10)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for _, cfg := range []sqlite.RebuildConfig{{PageSize: 20, MaxOrders: 10, SwapGap: 5}, {PageSize: 50, SwapGap: 1}} {
		rebuild(t, s, cfg)
	}
	close(stop)
	if n := <-appended; n == 0 {
		t.Fatal("nothing was appended during the rebuilds")
	}
	settle(t, ports.Status)
	sends := texts(t, db, `SELECT key FROM ctj_decisions WHERE decision = 'send' ORDER BY key`)
	queued := texts(t, db, `SELECT key FROM ctj_deliveries ORDER BY key`)
	if strings.Join(sends, "\n") != strings.Join(queued, "\n") {
		t.Fatalf("%d leads decided send, %d queued", len(sends), len(queued))
	}
	// And the models are what the log says: a quiet rebuild changes nothing.
	before := dump(t, db)
	rebuild(t, s, sqlite.RebuildConfig{})
	sameDump(t, before, dump(t, db))
}

// projectingStore is a fresh store whose projection runs, with policies
// put, and a reader of its file.
func projectingStore(t *testing.T, policies map[string]domain.Policy) (*sqlite.Store, app.Ports, *sql.DB) {
	t.Helper()
	s := newStore(t, time.Hour)
	ports := s.Ports()
	startProjection(t, s, ports)
	for w, p := range policies {
		if _, err := ports.Policies.UpdatePolicy(context.Background(), w, func(*app.StoredPolicy) (domain.Policy, error) { return p, nil }); err != nil {
			t.Fatal(err)
		}
	}
	return s, ports, openReader(t, s)
}
