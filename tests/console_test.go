package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// consoleToken is the admin token of the console's engine.
const consoleToken = "console-admin-token-42f1c9"

// TestConsole_InTheBrowser drives the support console in headless
// Chromium, with JavaScript off, against the real binary and store: log
// in, find an order and read why it was decided so, page through leads,
// open a widget and its chart, send a failed lead again and see the fake
// Calltouch take it, see a damaged record in the quarantine, the order and
// the status, log out. Every page is screenshotted when
// CTJ_CONSOLE_SCREENSHOTS names a directory.
func TestConsole_InTheBrowser(t *testing.T) {
	t.Parallel()
	chromium := requireChromium(t)
	e := startEngine(t, withEnv("CTJ_ADMIN_TOKEN", consoleToken))
	b := newBrowser(t, chromium, e.url("/"))
	consoleInTheBrowser(t, e, b, func(payload string) { writeDamagedRecord(e, payload) })
}

// The same on the embedded store, but for the damaged record, which only
// PostgreSQL lets a test write into the log; no screenshots.
func TestEmbeddedStore_ConsoleInTheBrowser(t *testing.T) {
	t.Parallel()
	chromium := requireChromium(t)
	e := startEngine(t, onEmbeddedStore(t.TempDir()), withEnv("CTJ_ADMIN_TOKEN", consoleToken))
	b := newBrowser(t, chromium, e.url("/"))
	b.shots = ""
	consoleInTheBrowser(t, e, b, nil)
}

// consoleInTheBrowser is the console's scenario; damage, when not nil,
// writes a record into the log as it is.
func consoleInTheBrowser(t *testing.T, e *engine, b *browser, damage func(payload string)) {
	const widget = "cs-w"
	orders := consoleHistory(e, widget)

	b.step("open the console: the login page asks for the admin token")
	b.open("/ui/orders/cs-skip", http.StatusOK, "login")
	b.screenshot("login")
	b.fill("#token", "not-the-token", http.StatusUnauthorized, "login")
	if msg := b.text(".error"); !strings.Contains(msg, "not the admin token") {
		t.Errorf("a wrong token says %q", msg)
	}
	b.fill("#token", consoleToken, http.StatusOK, "order")
	if at := b.location(); at != "/ui/orders/cs-skip" {
		t.Fatalf("after the login the browser is at %s, want back at the order it asked for", at)
	}

	b.step("find an order from the search and read its decision's reason")
	b.open("/ui/", http.StatusOK, "home")
	b.screenshot("search")
	b.fill("#order_id", "cs-skip", http.StatusOK, "order")
	if at := b.location(); at != "/ui/orders/cs-skip" {
		t.Fatalf("the search led to %s, want /ui/orders/cs-skip", at)
	}
	want := e.mustOrder("cs-skip")
	if got := b.text(".decision .reason"); got != want.Decisions[0].Reason || got == "" {
		t.Errorf("the page gives the reason %q, the API %q", got, want.Decisions[0].Reason)
	}
	if got := b.count("table.timeline tbody tr"); got != len(want.Events) {
		t.Errorf("the timeline shows %d events, the API %d", got, len(want.Events))
	}

	b.step("page through the widget's leads, 5 a page")
	api := e.leads("widget_id=" + widget + "&limit=1000").Leads
	var seen []string
	pages := 0
	b.open("/ui/leads?widget_id="+widget+"&limit=5", http.StatusOK, "leads")
	b.screenshot("leads")
	for {
		pages++
		rows := b.texts("table.leads tbody tr td:nth-child(2)")
		if len(rows) == 0 || len(rows) > 5 {
			t.Fatalf("page %d lists %d leads, want 1 to 5", pages, len(rows))
		}
		seen = append(seen, rows...)
		if b.count(`a[rel="next"]`) == 0 {
			break
		}
		b.follow(`a[rel="next"]`, http.StatusOK, "leads")
	}
	var wantOrders []string
	for _, l := range api {
		wantOrders = append(wantOrders, l.OrderID)
	}
	if !slices.Equal(seen, wantOrders) || len(seen) != len(orders) {
		t.Errorf("the pages listed %v, the API %v (%d orders posted)", seen, wantOrders, len(orders))
	}
	if wantPages := (len(api) + 4) / 5; pages != wantPages {
		t.Errorf("%d pages of 5 for %d leads, want %d", pages, len(api), wantPages)
	}
	t.Logf("leads: %d on %d pages, in the API's order", len(seen), pages)

	b.step("open the widget from a lead and see its chart, policy and counts")
	b.follow(`table.leads tbody tr td:nth-child(3) a`, http.StatusOK, "widget")
	if at := b.location(); at != "/ui/widgets/"+widget {
		t.Fatalf("the widget link led to %s", at)
	}
	if n := b.count("svg#leads-per-day"); n != 1 {
		t.Fatalf("%d charts on the widget page, want one", n)
	}
	if bars := b.count("svg#leads-per-day rect.bar"); bars < 2 {
		t.Errorf("the chart has %d bars, want today's delivered, failed and skipped", bars)
	}
	versions := b.texts(".policy h3")
	if len(versions) != 2 || !strings.HasPrefix(versions[0], "Version 2") || !strings.HasPrefix(versions[1], "Version 1") {
		t.Errorf("policies shown %q, want version 2 in force and version 1 before it", versions)
	}
	page := b.text("main")
	if !strings.Contains(page, "****") || strings.Contains(page, testToken) {
		t.Errorf("the widget page shows the Calltouch token unmasked, or no token at all")
	}
	b.screenshot("widget")

	b.step("send the failed lead again from the failed leads, and see it delivered")
	b.open("/ui/leads?status=failed&widget_id="+widget, http.StatusOK, "leads")
	if rows := b.texts("table.leads tbody tr td:nth-child(2)"); !slices.Equal(rows, []string{"cs-fail"}) {
		t.Fatalf("failed leads %v, want cs-fail only", rows)
	}
	key := *e.mustOrder("cs-fail").Decisions[0].Key
	before := e.fake.Count()
	b.follow(`table.leads button[type="submit"]`, http.StatusOK, "order")
	if at := b.location(); at != "/ui/orders/cs-fail?sent="+url.QueryEscape(key) {
		t.Fatalf("after send again the browser is at %s", at)
	}
	waitForRequests(t, e.fake, before+1)
	d := e.waitForStatus("cs-fail", 1, "delivered")
	if got := statusesOf(d.Tries); !slices.Equal(got, []int{422, 200}) {
		t.Errorf("tries %v, want 422 then 200", got)
	}
	b.open("/ui/orders/cs-fail", http.StatusOK, "order")
	if got := b.text(".decision .badge"); got != "delivered" {
		t.Errorf("the order page shows the lead %s, want delivered", got)
	}
	if got := b.count(".decision table.tries tbody tr"); got != 2 {
		t.Errorf("the order page shows %d tries, want 2", got)
	}
	if b.count(".send-again") != 0 {
		t.Error("a delivered lead still offers send again")
	}
	b.screenshot("order")

	if damage != nil {
		consoleQuarantine(t, e, b, widget, damage)
	}

	b.step("log out: the console asks for the token again")
	b.follow(".logout button", http.StatusOK, "login")
	b.open("/ui/leads", http.StatusOK, "login")

	responses := b.check()
	t.Logf("browser: %d steps, %d responses from the engine, none 5xx, no request elsewhere", b.steps, responses)
}

// consoleQuarantine damages a record of the widget's: the quarantine page
// lists it, its order shows it, the status page counts it.
func consoleQuarantine(t *testing.T, e *engine, b *browser, widget string, damage func(payload string)) {
	b.step("a record the projection cannot apply: the quarantine lists it, the order and the status show it")
	damage(canonicalEnvelope(t, "call.transferred", "cs-odd", widget, map[string]any{"attempt": 1}, nil))
	eventually(t, "the record set aside", func() (bool, string) {
		_, st := e.doJSON(http.MethodGet, "/v1/status", nil)
		return st["quarantined_records"] == float64(1), fmt.Sprint(st)
	})
	b.open("/ui/quarantine", http.StatusOK, "quarantine")
	if rows := b.texts("table.quarantine tbody tr td:nth-child(2)"); !slices.Equal(rows, []string{"cs-odd"}) {
		t.Fatalf("the quarantine lists orders %v, want cs-odd", rows)
	}
	b.screenshot("quarantine")
	b.follow("table.quarantine tbody tr td:nth-child(2) a", http.StatusOK, "order")
	if n := b.count(".aside"); n != 1 {
		t.Errorf("the order page of the record set aside marks %d rows, want 1", n)
	}
	b.open("/ui/status", http.StatusOK, "status")
	if got := b.text("#quarantined"); got != "1" {
		t.Errorf("the status page counts %s records set aside, want 1", got)
	}
	_, st := e.doJSON(http.MethodGet, "/v1/status", nil)
	queue := b.texts("table.queue tbody tr") // a row reads "delivered11"
	for status, n := range st["delivery_queue"].(map[string]any) {
		if want := fmt.Sprintf("%s%v", status, n); !slices.Contains(queue, want) {
			t.Errorf("the status page's queue %q lacks %s", queue, want)
		}
	}
	b.screenshot("status")
}

// consoleHistory gives the widget two policy versions and orders of every
// kind: one failed by a 4xx from Calltouch, one skipped, the rest
// delivered. It returns their ids.
func consoleHistory(e *engine, widget string) []string {
	e.t.Helper()
	e.putPolicy(widget, policyFor(e.fake, nil))
	e.putPolicy(widget, policyFor(e.fake, map[string]any{"only_successful": true}))

	// Calltouch refuses the first lead; then it takes everything.
	e.fake.SetDefault(calltouchfake.Status(422, `{"error": "site blocked"}`))
	e.mustPost(ordered("cs-fail", widget, nil), answered("cs-fail", widget, 1))
	e.waitForStatus("cs-fail", 1, "failed")
	e.fake.SetDefault(calltouchfake.OK())

	e.mustPost(ordered("cs-skip", widget, nil), failed("cs-skip", widget, 1, "busy"), lastAttempt("cs-skip", widget, 1))
	orders := []string{"cs-fail", "cs-skip"}
	for i := range 10 {
		o := fmt.Sprintf("cs-ok-%02d", i)
		e.mustPost(ordered(o, widget, nil), answered(o, widget, 1))
		orders = append(orders, o)
	}
	for _, o := range orders[2:] {
		e.waitForStatus(o, 1, "delivered")
	}
	eventually(e.t, "the skip of cs-skip", func() (bool, string) {
		x := e.mustOrder("cs-skip")
		return len(x.Decisions) > 0 && x.Decisions[0].Status == "skipped", fmt.Sprintf("%+v", x.Decisions)
	})
	if n := len(e.leads("widget_id=" + url.QueryEscape(widget) + "&limit=1000").Leads); n != len(orders) {
		e.t.Fatalf("%d decisions for %d orders, want one each", n, len(orders))
	}
	return orders
}

// writeDamagedRecord writes a record into the log as it is, bypassing
// ingest, and wakes the projection.
func writeDamagedRecord(e *engine, payload string) {
	e.t.Helper()
	db := e.openDB(e.t)
	if _, err := db.Exec(`WITH rec AS (INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
		VALUES (gen_random_uuid()::text, $1, '{}', pg_current_xact_id()) RETURNING 1)
		SELECT pg_notify('ctj_log', '') FROM rec`, payload); err != nil {
		e.t.Fatalf("write into the log: %v", err)
	}
}
