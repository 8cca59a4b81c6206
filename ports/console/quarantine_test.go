package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
)

func TestQuarantine_ListsTheRecordsSetAside(t *testing.T) {
	f := newFakeStore()
	c := newConsole(t, f, "")
	mustContain(t, "empty quarantine", c.page("/ui/quarantine", http.StatusOK), "No log record is set aside")

	f.aside = []app.QuarantinedRecord{
		{Position: 40, OrderID: "ord-1", Error: "record 40: unknown event type \"call.transferred\"", At: now, RecordedAt: now.Add(-time.Minute),
			Payload: []byte(`{"type":"call.transferred","order_id":"ord-1","note":"<b>hi</b>"}`)},
		{Position: 41, Error: "record 41: not a JSON object", At: now, RecordedAt: now.Add(-time.Minute), Payload: []byte("\xff\xfe" + strings.Repeat("x", 3000))},
	}
	body := c.page("/ui/quarantine", http.StatusOK)
	mustContain(t, "quarantine", body,
		`<td class="num">40</td>`, `href="/ui/orders/ord-1"`, "unknown event type &#34;call.transferred&#34;", "2026-03-10 14:29:00.000",
		"&#34;type&#34;: &#34;call.transferred&#34;", "&lt;b&gt;hi&lt;/b&gt;",
		`<td class="num">41</td>`, "not a JSON object", "\uFFFD"+strings.Repeat("x", 2045)+"…", "ctjournal quarantine retry")
	mustNotContain(t, "quarantine", body, "<b>hi", strings.Repeat("x", 2100))
}

func TestOrder_ShowsWhatWasSetAside(t *testing.T) {
	f := newFakeStore()
	f.aside = []app.QuarantinedRecord{
		{Position: 13, OrderID: "ord-1", Error: "the fold panicked", At: now, RecordedAt: now.Add(-40 * time.Minute),
			Payload: []byte(`{"event_id":"5f0c7f7e-8c3b-4a57-9a3e-1d2b3c4d5e6f","type":"call.answered","order_id":"ord-1","widget_id":"w-1","occurred_at":"2026-03-10T13:50:00Z","data":{"attempt":2}}`)},
		{Position: 14, OrderID: "ord-1", Error: "record 14: unknown type \"lead.vanished\"", At: now, RecordedAt: now.Add(-39 * time.Minute),
			Payload: []byte(`{"type":"lead.vanished","order_id":"ord-1"}`)},
	}
	c := newConsole(t, f, "")
	body := c.page("/ui/orders/ord-1", http.StatusOK)
	mustContain(t, "order with records set aside", body,
		`<tr class="aside"><td class="num">13</td>`, `<span class="badge failed">set aside</span> set aside by the projection, not applied: the fold panicked`,
		"Set aside by the projection, not applied", `<code>lead.vanished</code>`, "unknown type &#34;lead.vanished&#34;")
}
