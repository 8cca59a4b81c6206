package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// publishOrders publishes count orders of widget to b, one message each
// (ordered and answered: lead <id>~1), and returns their lead keys.
func publishOrders(t *testing.T, b testBroker, prefix, widget string, from, count int) []string {
	t.Helper()
	var keys []string
	for i := from; i < from+count; i++ {
		o := fmt.Sprintf("%s-%s-%04d", prefix, b.source(), i)
		b.publish(t, bodyOf(t, ordered(o, widget, nil), answered(o, widget, 1)))
		keys = append(keys, o+"~1")
	}
	return keys
}

// sentOnce requires Calltouch to have accepted exactly the keys, each once
// save for double sends one of the kills explains (calltouch.md).
func sentOnce(t *testing.T, e *engine, keys []string, kills []kill) {
	t.Helper()
	time.Sleep(settle)
	perKey := requestsPerKey(e.fake.Requests())
	for _, key := range keys {
		if k := perKey[key]; k == nil || len(k.accepted) == 0 {
			t.Errorf("lead %s: Calltouch never accepted it", key)
		}
	}
	for key := range perKey {
		if !slices.Contains(keys, key) {
			t.Errorf("Calltouch got lead %s, which no message carried", key)
		}
	}
	doubles, unexplained, _ := doubleSends(perKey, kills)
	for _, u := range unexplained {
		t.Errorf("double send no SIGKILL explains: %s", u)
	}
	t.Logf("%d leads sent, %d sent twice across a SIGKILL", len(keys), doubles)
}

func TestBrokers_SIGKILLInTheMiddleOf1000MessagesLosesNothing(t *testing.T) {
	t.Parallel()
	n, a := newNATS(t), newAMQP(t)
	e := startEngine(t, n.env, a.env)
	w := "bk-kill-w"
	e.putPolicy(w, policyFor(e.fake, nil))

	var keys []string
	for _, b := range []testBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-kill", w, 0, 500)...)
	}
	waitUntil(t, 2*waitLimit, "serve in the middle of the messages", func() (bool, string) {
		got := e.ingested(t, "nats", "accepted") + e.ingested(t, "amqp", "accepted")
		return got >= 300, fmt.Sprintf("%d accepted", got)
	})
	k := e.sigkill()
	for _, b := range []testBroker{n, a} { // the rest wait in the brokers
		keys = append(keys, publishOrders(t, b, "bk-kill", w, 500, 500)...)
	}
	e.restartAfterKill(t)

	// A message NATS handed to the killed serve comes back after AckWait.
	e.leadsDelivered(len(keys), 4*waitLimit)
	db := e.openDB(t)
	if got := queryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' LIKE 'call.%'`); got != 2*len(keys) {
		t.Errorf("the log holds %d call events, want %d", got, 2*len(keys))
	}
	sentOnce(t, e, keys, []kill{k})
}

func TestBrokers_TwoServesShareEachBrokerAndHandleEachMessageOnce(t *testing.T) {
	t.Parallel()
	n, a := newNATS(t), newAMQP(t)
	e := startEngine(t, n.env, a.env)
	other := e.another(t)
	w := "bk-two-w"
	e.putPolicy(w, policyFor(e.fake, nil))
	var keys []string
	for _, b := range []testBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-two", w, 0, 500)...)
	}
	e.leadsDelivered(len(keys), 2*waitLimit)
	sentOnce(t, e, keys, nil)
	if reqs := e.fake.Count(); reqs != len(keys) {
		t.Errorf("Calltouch got %d requests, want %d", reqs, len(keys))
	}
	for _, source := range []string{"nats", "amqp"} {
		mine, theirs := e.ingested(t, source, "accepted"), other.ingested(t, source, "accepted")
		if mine+theirs != 500 || mine == 0 || theirs == 0 {
			t.Errorf("%s: the serves stored %d and %d messages, want 500 shared between them", source, mine, theirs)
		}
		if d := e.ingested(t, source, "duplicate") + other.ingested(t, source, "duplicate"); d != 0 {
			t.Errorf("%s: %d messages handled twice", source, d)
		}
	}
}

// storeDown refuses every connection to the engine's database and ends
// those open, as a database server out of reach would; PostgreSQL itself,
// which other tests use, goes on. It returns storeUp.
func (e *engine) storeDown(t *testing.T) (storeUp func()) {
	t.Helper()
	up := func() {
		if err := adminExec(`ALTER DATABASE "` + e.dbName + `" ALLOW_CONNECTIONS true`); err != nil {
			t.Errorf("let connections to %s in again: %v", e.dbName, err)
		}
	}
	t.Cleanup(up)
	if err := adminExec(`ALTER DATABASE "` + e.dbName + `" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if err := adminExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + e.dbName + `'`); err != nil {
		t.Fatal(err)
	}
	return up
}

func TestBrokers_StoreDownMessagesAreRedeliveredLaterNeverRejected(t *testing.T) {
	t.Parallel()
	n, a := newNATS(t), newAMQP(t)
	e := startEngine(t, n.env, a.env)
	w := "bk-down-w"
	e.putPolicy(w, policyFor(e.fake, nil))

	storeUp := e.storeDown(t)
	var keys []string
	for _, b := range []testBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-down", w, 0, 3)...)
	}
	waitUntil(t, 2*waitLimit, "each broker's messages tried and refused by the store", func() (bool, string) {
		logs := e.logs()
		failures := func(source string) int {
			n := 0
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "Handler returned error") && strings.Contains(line, `"handler_name":"`+source+`-`) {
					n++
				}
			}
			return n
		}
		return failures("nats") > 0 && failures("amqp") > 0, fmt.Sprintf("%d NATS and %d RabbitMQ handler failures", failures("nats"), failures("amqp"))
	})
	storeUp()

	e.leadsDelivered(len(keys), 4*waitLimit)
	sentOnce(t, e, keys, nil)
	for _, source := range []string{"nats", "amqp"} {
		if got := e.ingested(t, source, "accepted"); got != 3 {
			t.Errorf("%s: %d accepted, want 3", source, got)
		}
		if got := e.ingested(t, source, "rejected"); got != 0 {
			t.Errorf("%s: %d rejected, want none", source, got)
		}
	}
	if got := a.waiting(t, a.reject); got != 0 {
		t.Errorf("%d RabbitMQ rejects, want none", got)
	}
}
