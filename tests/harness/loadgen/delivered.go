package loadgen

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// DeliveryReport is what checkDelivered counted.
type DeliveryReport struct {
	Acked, found       int // events acknowledged with 202; of them in the log
	logged, projected  int // call events in the log; folded by the projection
	Expected, Implied  int // leads qualified for by acknowledged / by logged events
	Delivered          int // leads delivered (decisions with status delivered)
	Requests, Accepted int // Calltouch requests; answered 2xx
	Doubles            int // keys Calltouch accepted more than once
	// Windows: for each double send, how long before the SIGKILL Calltouch
	// had accepted the request whose answer was never recorded.
	Windows []time.Duration
}

func (r DeliveryReport) String() string {
	return fmt.Sprintf("events acknowledged %d, found in the log %d (call events logged %d, projected %d); "+
		"leads expected %d (qualified by logged events %d), delivered %d; Calltouch requests %d, accepted %d, double sends %d",
		r.Acked, r.found, r.logged, r.projected, r.Expected, r.Implied, r.Delivered, r.Requests, r.Accepted, r.Doubles) +
		WindowsText(r.Windows)
}

// WindowsText describes the accepted-to-kill gaps of the double sends.
func WindowsText(w []time.Duration) string {
	if len(w) == 0 {
		return ""
	}
	return fmt.Sprintf(" (accepted %s–%s, median %s, before the SIGKILL)",
		w[0].Round(time.Millisecond), w[len(w)-1].Round(time.Millisecond), w[len(w)/2].Round(time.Millisecond))
}

// CheckDelivered requires every acknowledged event in the log, every call
// event of the log folded once, every lead the logged events qualify for
// delivered (waiting up to limit), no other lead decided or sent, and
// every key accepted once by fake save for double sends a kill explains.
func CheckDelivered(t *testing.T, db *sql.DB, g *LoadGen, fake *calltouchfake.Server, kills []harness.Kill, limit time.Duration) DeliveryReport {
	t.Helper()
	var r DeliveryReport
	acked := g.AckedIDs()
	r.Acked = len(acked)
	found := map[string]bool{}
	rows, err := db.Query(`SELECT uuid FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(acked))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		found[id] = true
	}
	rows.Close()
	r.found = len(found)
	var missing []string
	for _, id := range acked {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d events answered 202 are not in the log, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}

	// The leads the logged call events qualify for (after_call, no filter:
	// one per finished attempt of an order whose call.ordered is logged).
	implied := map[string]bool{}
	{
		rows, err := db.Query(`SELECT payload->>'order_id', payload->>'type', coalesce((payload->'data'->>'attempt')::int, 0)
			FROM ctj_log WHERE payload->>'type' LIKE 'call.%'`)
		if err != nil {
			t.Fatal(err)
		}
		orderedLogged := map[string]bool{}
		finished := map[string][]int{}
		for rows.Next() {
			var order, typ string
			var attempt int
			if err := rows.Scan(&order, &typ, &attempt); err != nil {
				t.Fatal(err)
			}
			r.logged++
			switch typ {
			case "call.ordered":
				orderedLogged[order] = true
			case "call.answered", "call.failed":
				finished[order] = append(finished[order], attempt)
			}
		}
		rows.Close()
		for order, attempts := range finished {
			if orderedLogged[order] {
				for _, n := range attempts {
					implied[fmt.Sprintf("%s~%d", order, n)] = true
				}
			}
		}
	}
	r.Implied = len(implied)
	expected := g.expectedLeads()
	r.Expected = len(expected)
	for _, key := range expected {
		if !implied[key] {
			t.Errorf("lead %s: its events were acknowledged but are not all in the log", key)
		}
	}

	delivered := func() (int, string) {
		n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`)
		pending := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending'`)
		projected := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_order_events`)
		return n, fmt.Sprintf("%d of %d leads delivered, %d pending in the queue, %d of %d call events projected",
			n, len(implied), pending, projected, r.logged)
	}
	harness.WaitUntil(t, limit, "every lead delivered", func() (bool, string) {
		n, state := delivered()
		return n >= len(implied), state
	})
	r.projected = harness.QueryInt(t, db, `SELECT count(*) FROM ctj_order_events`)
	if r.projected != r.logged {
		t.Errorf("the projection folded %d call events, the log holds %d", r.projected, r.logged)
	}
	// Every decided send is one the logged events qualify for, delivered.
	rows, err = db.Query(`SELECT key, status FROM ctj_decisions WHERE decision = 'send'`)
	if err != nil {
		t.Fatal(err)
	}
	decided := map[string]bool{}
	for rows.Next() {
		var key, status string
		if err := rows.Scan(&key, &status); err != nil {
			t.Fatal(err)
		}
		decided[key] = true
		if status == "delivered" {
			r.Delivered++
		}
		if !implied[key] {
			t.Errorf("lead %s was decided but the logged events do not qualify for it", key)
		} else if status != "delivered" {
			t.Errorf("lead %s: status %s, want delivered", key, status)
		}
	}
	rows.Close()
	for key := range implied {
		if !decided[key] {
			t.Errorf("lead %s: no send decision", key)
		}
	}
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_poison`); n != 0 {
		t.Errorf("%d log records went to the poison table", n)
	}

	time.Sleep(harness.Settle)
	perKey := RequestsPerKey(fake.Requests())
	for key, k := range perKey {
		r.Requests += k.Requests
		r.Accepted += len(k.Accepted)
		if !implied[key] {
			t.Errorf("Calltouch got %d requests for %s, a key no logged event qualifies for", k.Requests, key)
		}
	}
	for key := range implied {
		if k := perKey[key]; k == nil || len(k.Accepted) == 0 {
			t.Errorf("lead %s: Calltouch never accepted it", key)
		}
	}
	var unexplained []string
	r.Doubles, unexplained, r.Windows = DoubleSends(perKey, kills)
	for _, u := range unexplained {
		t.Errorf("double send outside the crash window (no SIGKILL of the serve that sent the first acceptance within %s after it): %s", CrashWindow, u)
	}
	return r
}

// RecordDelays describes how long after Calltouch's answer each try's
// record transaction began (the log row's created_at is its transaction's
// start): the larger part of the double-send window, which lasts until
// that transaction commits.
func RecordDelays(t *testing.T, db *sql.DB) string {
	t.Helper()
	var p50, p90, p100 sql.NullFloat64
	var n int
	err := db.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.9) WITHIN GROUP (ORDER BY d), max(d), count(*)
		FROM (SELECT 1000 * extract(epoch FROM created_at - ((payload->>'at')::timestamptz AT TIME ZONE 'UTC'))
			- (payload->>'duration_ms')::float8 AS d FROM ctj_log WHERE payload->>'type' = 'delivery.tried') s`).Scan(&p50, &p90, &p100, &n)
	if err != nil {
		t.Fatalf("record delays: %v", err)
	}
	return fmt.Sprintf("the record transaction of a try began %.0f ms (median), %.0f ms (90th percentile), %.0f ms (max) after the answer, over %d tries",
		p50.Float64, p90.Float64, p100.Float64, n)
}
