package loadgen

import (
	"fmt"
	"time"

	"ctjournal/tests/harness"
)

// CanonicalEvents is one order's events as the engine stores them: an
// order with a client phone, answered on attempt 1.
func CanonicalEvents(order, widget string) (o *GenOrder, payloads []string) {
	at := time.Now().UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	ordID, ansID := harness.NewUUID(), harness.NewUUID()
	payloads = []string{
		fmt.Sprintf(`{"event_id":%q,"type":"call.ordered","order_id":%q,"widget_id":%q,"occurred_at":%q,`+
			`"data":{"kind":"callback","client_phone":"79161234567","calltouch_session_id":"sess-%s"}}`, ordID, order, widget, at, order),
		fmt.Sprintf(`{"event_id":%q,"type":"call.answered","order_id":%q,"widget_id":%q,"occurred_at":%q,"data":{"attempt":1}}`,
			ansID, order, widget, at),
	}
	o = &GenOrder{ID: order, Leads: map[string][]string{order + "~1": {ordID, ansID}}}
	return o, payloads
}
