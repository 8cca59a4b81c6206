package console_test

import (
	"net/http"
	"testing"

	"ctjournal/app"
)

func TestStatus_LagHolderAndQueue(t *testing.T) {
	f := newFakeStore()
	f.status = app.EngineStatus{
		Projection: app.ProjectionStatus{BehindRecords: 120, HeldBackRecords: 100, LagSeconds: 42.5,
			HeldBackBy: &app.OpenTransaction{PID: 4242, Database: "billing", User: "report<er>", State: "idle in transaction", AgeSeconds: 95}},
		QuarantinedRecords: 2,
		DeliveryQueue:      map[string]int64{app.StatusPending: 7, app.StatusDelivered: 1000},
	}
	f.brokers = map[string]app.BrokerStatus{"nats": {Subscribed: true, Connected: true}, "amqp": {Subscribed: true}}
	c := newConsole(t, f, "")
	body := c.page("/ui/status", http.StatusOK)
	mustContain(t, "status", body,
		`<span class="figure" id="behind">120</span>`, "42.5s", "100 records the projection cannot read yet",
		"pid 4242, database billing, user report&lt;er&gt;, state idle in transaction", "1m35s",
		`<span class="figure" id="quarantined">2</span>`, `href="/ui/quarantine"`,
		`<span class="badge pending">pending</span></a></td><td class="num">7</td>`,
		`<span class="badge delivered">delivered</span></a></td><td class="num">1000</td>`,
		`<span class="badge failed">failed</span></a></td><td class="num">0</td>`,
		"<td>amqp</td>\n        <td><span class=\"badge delivered\">subscribed</span></td>\n        <td><span class=\"badge failed\">disconnected</span></td>",
		"<td>nats</td>\n        <td><span class=\"badge delivered\">subscribed</span></td>\n        <td><span class=\"badge delivered\">connected</span></td>")

	f.status = app.EngineStatus{DeliveryQueue: map[string]int64{}}
	f.brokers = nil
	body = c.page("/ui/status", http.StatusOK)
	mustContain(t, "caught up", body, `<span class="figure" id="behind">0</span>`, "none: every committed record is applied")
	mustNotContain(t, "caught up", body, "Held back by", "Broker consumers")
}
