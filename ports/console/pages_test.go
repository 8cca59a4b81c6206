package console_test

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
)

func TestHome_SearchGoesToTheOrdersAddress(t *testing.T) {
	c := newConsole(t, newFakeStore(), "")
	body := c.page("/ui/", http.StatusOK)
	mustContain(t, "home", body, `<form class="card search" method="get" action="/ui/">`, `name="order_id"`, `name="widget_id"`)

	for query, want := range map[string]string{
		"order_id=ord-1":                   "/ui/orders/ord-1",
		"order_id=+ord-1+":                 "/ui/orders/ord-1",
		"order_id=a%2Fb%3Fc%23d":           "/ui/orders/a%2Fb%3Fc%23d",
		"order_id=%3Cscript%3E%25":         "/ui/orders/%3Cscript%3E%25",
		"widget_id=w+1":                    "/ui/widgets/w%201",
		"order_id=&widget_id=%D0%B2%D0%B8": "/ui/widgets/%D0%B2%D0%B8",
	} {
		rec := c.get("/ui/?" + query)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("search %s: %d to %q, want 303 to %s", query, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

func TestOrder_TellsTheStoryAsExplainDoes(t *testing.T) {
	c := newConsole(t, newFakeStore(), "")
	body := c.page("/ui/orders/ord-1", http.StatusOK)
	mustContain(t, "order page", body,
		// the timeline: position, recorded, occurred, type, attempt, note
		`<td class="num">11</td>`, "2026-03-10 13:30:01.000", "2026-03-10 13:30:00.000", "<code>call.ordered</code>",
		`<td class="num">12</td>`, "<code>call.failed</code>", "attempt 1 failed: busy",
		// the decision: verdict, key, status, reason, warnings, policy version, payload, tries
		"Attempt 1", "SEND", "ord-1~1", `<span class="badge failed">failed</span>`,
		"attempt 1 failed and the policy sends every attempt", "no calltouch_session_id: Calltouch may not attribute the call",
		"under policy version 2", "placed under policy version 2", "&#34;phoneNumber&#34;: &#34;79161234567&#34;",
		"2026-03-10 13:41:00.000", "87 ms", `<td class="num">422</td>`, "{&#34;error&#34;: &#34;site blocked&#34;}",
		"calltouch refused the lead", `<span class="badge refused">refused</span>`,
		// links and the one command
		`href="/ui/widgets/w-1"`, `action="/ui/leads/ord-1~1/redeliver"`, "Send again",
	)
}

func TestOrder_UnknownIsNotFound(t *testing.T) {
	c := newConsole(t, newFakeStore(), "")
	body := c.page("/ui/orders/nosuch", http.StatusNotFound)
	mustContain(t, "404 page", body, "No order nosuch is known")
	c.page("/ui/orders/%00", http.StatusBadRequest)
	c.page("/ui/orders/%FF", http.StatusBadRequest)
	c.page("/ui/nowhere", http.StatusNotFound)
}

// Every value is escaped wherever it lands, and an id with odd characters
// still makes a link that leads back to it.
func TestEscaping_OddIDsAreTextAndSafeLinks(t *testing.T) {
	const odd = `<script>alert("x")</script>%41 & 'q'`
	f := newFakeStore()
	x := f.orders["ord-1"]
	x.OrderID, x.WidgetID = odd, odd+"-w"
	key := odd + "~1"
	x.Decisions[0].Key = &key
	x.Decisions[0].Reason = `<img src=x onerror=alert(1)>`
	f.orders[odd] = x
	f.page.Leads[0].OrderID, f.page.Leads[0].WidgetID, f.page.Leads[0].Key = odd, odd+"-w", &key
	c := newConsole(t, f, "")

	escapedPath := "/ui/orders/" + url.PathEscape(odd)
	body := c.page(escapedPath, http.StatusOK)
	if got := f.askedOrders[len(f.askedOrders)-1]; got != odd {
		t.Fatalf("the page asked for order %q, want %q", got, odd)
	}
	mustNotContain(t, "order page", body, "<script>alert", "<img src=x", `alert("x")`)
	mustContain(t, "order page", body,
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;%41 &amp; &#39;q&#39;", "&lt;img src=x onerror=alert(1)&gt;",
		`href="/ui/widgets/`+html.EscapeString(url.PathEscape(odd+"-w"))+`"`,
		`action="/ui/leads/`+html.EscapeString(url.PathEscape(key))+`/redeliver"`)

	leads := c.page("/ui/leads?widget_id="+url.QueryEscape(odd), http.StatusOK)
	mustNotContain(t, "leads page", leads, "<script>alert")
	mustContain(t, "leads page", leads, `href="`+html.EscapeString(escapedPath)+`"`, `value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;%41 &amp; &#39;q&#39;"`)

	// Each link's path is the id again, whatever it holds.
	for _, u := range []string{escapedPath, "/ui/widgets/" + url.PathEscape(odd+"-w")} {
		parsed, err := url.Parse(u)
		if err != nil || !strings.HasSuffix(parsed.Path, odd) && !strings.HasSuffix(parsed.Path, odd+"-w") {
			t.Errorf("link %s decodes to %q, %v", u, parsed.Path, err)
		}
	}
	rec := c.get("/ui/?order_id=" + url.QueryEscape(odd))
	if rec.Header().Get("Location") != escapedPath {
		t.Errorf("the search for %q goes to %q, want %q", odd, rec.Header().Get("Location"), escapedPath)
	}
}

func TestLeads_FilterPagesAndLinks(t *testing.T) {
	f := newFakeStore()
	next := "c-2"
	f.page.NextCursor = &next
	c := newConsole(t, f, "")

	body := c.page("/ui/leads?widget_id=w-1&status=failed&since=2026-03-01&until=2026-03-02T09:30:00Z&limit=20&cursor=c-1", http.StatusOK)
	got := f.leadFilters[len(f.leadFilters)-1]
	since, until := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	if got.WidgetID != "w-1" || got.Status != "failed" || got.Limit != 20 || got.Cursor != "c-1" ||
		got.Since == nil || !got.Since.Equal(since) || got.Until == nil || !got.Until.Equal(until) {
		t.Errorf("filter %+v, want the query's", got)
	}
	mustContain(t, "leads page", body,
		`href="/ui/orders/ord-1"`, `href="/ui/widgets/w-1"`, `<span class="badge failed">failed</span>`, "attempt 1 failed",
		`href="/ui/leads?cursor=c-2&amp;limit=20&amp;since=2026-03-01&amp;status=failed&amp;until=2026-03-02T09%3A30%3A00Z&amp;widget_id=w-1"`,
		`href="/ui/leads?limit=20&amp;since=2026-03-01&amp;status=failed&amp;until=2026-03-02T09%3A30%3A00Z&amp;widget_id=w-1" rel="first"`,
		`<option value="failed" selected>`, `action="/ui/leads/ord-1~1/redeliver"`)

	c.page("/ui/leads", http.StatusOK)
	if got := f.leadFilters[len(f.leadFilters)-1]; got.Limit != 50 || got.Status != "" || got.Since != nil || got.Cursor != "" {
		t.Errorf("unfiltered: %+v, want 50 of anything", got)
	}
	for query, field := range map[string]string{
		"status=sent": "status: must be one of", "limit=0": "limit: must be", "limit=1001": "limit: must be",
		"since=yesterday": "since: must be", "until=2026-13-01": "until: must be", "widget_id=%00": "widget_id: must be valid UTF-8",
	} {
		asked := len(f.leadFilters)
		body := c.page("/ui/leads?"+query, http.StatusBadRequest)
		mustContain(t, "leads?"+query, body, field)
		if len(f.leadFilters) != asked {
			t.Errorf("leads?%s reached the query", query)
		}
	}
}

func TestWidget_PolicyHistoryCountsAndChart(t *testing.T) {
	f := newFakeStore()
	c := newConsole(t, f, "")
	body := c.page("/ui/widgets/w-1", http.StatusOK)
	mustNotContain(t, "widget page", body, secretToken)
	mustContain(t, "widget page", body,
		"Policy in force", "Version 2", "Earlier versions", "Version 1", "****6789", "api.calltouch.example", "only_successful",
		`<svg id="leads-per-day"`, `<rect class="bar delivered"`, `<rect class="bar failed"`, "2026-03-09: 2 delivered",
		"Leads by status", "Skips by reason", "the call was not answered and the policy sends only successful calls",
		`href="/ui/leads?status=failed&amp;widget_id=w-1"`)
	// By default the last 30 UTC days, today included.
	filter := f.widgetFilter[len(f.widgetFilter)-1]
	if !filter.Since.Equal(time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)) || !filter.Until.Equal(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default period [%s, %s)", filter.Since, filter.Until)
	}
	if strings.Count(body, "<section class=\"card policy\">") != 2 {
		t.Errorf("want the policy in force and one earlier version")
	}

	c.page("/ui/widgets/w-1?since=2026-03-01&until=2026-03-08", http.StatusOK)
	if filter := f.widgetFilter[len(f.widgetFilter)-1]; !filter.Since.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("period from since: %+v", filter)
	}
	mustContain(t, "a period too long", c.page("/ui/widgets/w-1?since=2020-01-01", http.StatusBadRequest), "at most 366 days")
	mustContain(t, "an empty period", c.page("/ui/widgets/w-1?since=2026-03-02&until=2026-03-01", http.StatusBadRequest), "since: must be before until")
	mustContain(t, "unknown widget", c.page("/ui/widgets/nosuch", http.StatusNotFound), "No widget nosuch is known")

	// A widget with a policy and no order yet still shows its policy.
	f.policies["w-new"] = f.policies["w-1"]
	f.days = nil
	body = c.page("/ui/widgets/w-new", http.StatusOK)
	mustContain(t, "new widget", body, "Policy in force", "No order of this widget is known yet", "No decision in this period")
	mustNotContain(t, "new widget", body, "<svg", secretToken)
}

func TestSendAgain_RedeliversAndShowsTheOrder(t *testing.T) {
	f := newFakeStore()
	c := newConsole(t, f, "")
	csrf := csrfOf(t, c.page("/ui/orders/ord-1", http.StatusOK))

	rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/orders/ord-1?sent=ord-1~1" {
		t.Fatalf("send again: %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if len(f.redelivered) != 1 || f.redelivered[0] != "ord-1~1" {
		t.Fatalf("redelivered %v, want ord-1~1", f.redelivered)
	}
	mustContain(t, "order after send again", c.page("/ui/orders/ord-1?sent=ord-1~1", http.StatusOK), "is queued to be sent again")
	mustNotContain(t, "order with another lead's notice", c.page("/ui/orders/ord-1?sent=ord-9~1", http.StatusOK), "is queued to be sent again")

	f.redeliverErr = &app.StateError{Message: "lead ord-1~1 is delivered, not failed"}
	rec = c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "is delivered, not failed") {
		t.Errorf("send again a delivered lead: %d\n%s", rec.Code, rec.Body)
	}
	f.redeliverErr = app.ErrNotFound
	if rec = c.do(http.MethodPost, "/ui/leads/nosuch~1/redeliver", url.Values{"csrf": {csrf}}); rec.Code != http.StatusNotFound {
		t.Errorf("send again an unknown lead: %d", rec.Code)
	}
	f.redeliverErr = errors.Join(app.ErrUnavailable, errors.New("connection refused"))
	if rec = c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}}); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("send again with the store away: %d", rec.Code)
	}
}

func TestAssetsAndHeaders(t *testing.T) {
	c := newConsole(t, newFakeStore(), "")
	rec := c.get("/ui/assets/console.css")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") || !strings.Contains(rec.Body.String(), ".badge") {
		t.Fatalf("stylesheet: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = c.get("/ui/")
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if !strings.Contains(rec.Header().Get(name), want) {
			t.Errorf("%s: %q, want %q", name, rec.Header().Get(name), want)
		}
	}
	mustNotContain(t, "home", rec.Body.String(), "<script", "http://", "https://")
}
