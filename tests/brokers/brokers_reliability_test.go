package brokers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/brokertest"
	"ctjournal/tests/harness/loadgen"
)

// publishOrders publishes count orders of widget to b, one message each
// (ordered and answered: lead <id>~1), and returns their lead keys.
func publishOrders(t *testing.T, b brokertest.TestBroker, prefix, widget string, from, count int) []string {
	t.Helper()
	var keys []string
	for i := from; i < from+count; i++ {
		o := fmt.Sprintf("%s-%s-%04d", prefix, b.Source(), i)
		b.Publish(t, brokertest.BodyOf(t, harness.Ordered(o, widget, nil), harness.Answered(o, widget, 1)))
		keys = append(keys, o+"~1")
	}
	return keys
}

// sentOnce requires Calltouch to have accepted exactly the keys, each once
// save for double sends one of the kills explains (calltouch.md).
func sentOnce(t *testing.T, e *harness.Engine, keys []string, kills []harness.Kill) {
	t.Helper()
	time.Sleep(harness.Settle)
	perKey := loadgen.RequestsPerKey(e.Fake.Requests())
	for _, key := range keys {
		if k := perKey[key]; k == nil || len(k.Accepted) == 0 {
			t.Errorf("lead %s: Calltouch never accepted it", key)
		}
	}
	for key := range perKey {
		if !slices.Contains(keys, key) {
			t.Errorf("Calltouch got lead %s, which no message carried", key)
		}
	}
	doubles, unexplained, _ := loadgen.DoubleSends(perKey, kills)
	for _, u := range unexplained {
		t.Errorf("double send no SIGKILL explains: %s", u)
	}
	t.Logf("%d leads sent, %d sent twice across a SIGKILL", len(keys), doubles)
}

func TestBrokers_SIGKILLInTheMiddleOf1000MessagesLosesNothing(t *testing.T) {
	t.Parallel()
	n, a := brokertest.NewNATS(t), brokertest.NewAMQP(t)
	e := harness.Start(t, n.Env, a.Env)
	w := "bk-kill-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))

	var keys []string
	for _, b := range []brokertest.TestBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-kill", w, 0, 500)...)
	}
	harness.WaitUntil(t, 2*harness.WaitLimit, "serve in the middle of the messages", func() (bool, string) {
		got := e.Ingested(t, "nats", "accepted") + e.Ingested(t, "amqp", "accepted")
		return got >= 300, fmt.Sprintf("%d accepted", got)
	})
	k := e.SigKill()
	for _, b := range []brokertest.TestBroker{n, a} { // the rest wait in the brokers
		keys = append(keys, publishOrders(t, b, "bk-kill", w, 500, 500)...)
	}
	e.RestartAfterKill(t)

	// A message NATS handed to the killed serve comes back after AckWait.
	e.LeadsDelivered(len(keys), 4*harness.WaitLimit)
	db := e.OpenDB(t)
	if got := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' LIKE 'call.%'`); got != 2*len(keys) {
		t.Errorf("the log holds %d call events, want %d", got, 2*len(keys))
	}
	sentOnce(t, e, keys, []harness.Kill{k})
}

func TestBrokers_PostgresTwoServesShareEachBrokerAndHandleEachMessageOnce(t *testing.T) {
	t.Parallel()
	n, a := brokertest.NewNATS(t), brokertest.NewAMQP(t)
	e := harness.Start(t, n.Env, a.Env)
	other := e.Another(t)
	w := "bk-two-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	var keys []string
	for _, b := range []brokertest.TestBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-two", w, 0, 500)...)
	}
	e.LeadsDelivered(len(keys), 2*harness.WaitLimit)
	sentOnce(t, e, keys, nil)
	if reqs := e.Fake.Count(); reqs != len(keys) {
		t.Errorf("Calltouch got %d requests, want %d", reqs, len(keys))
	}
	for _, source := range []string{"nats", "amqp"} {
		mine, theirs := e.Ingested(t, source, "accepted"), other.Ingested(t, source, "accepted")
		if mine+theirs != 500 || mine == 0 || theirs == 0 {
			t.Errorf("%s: the serves stored %d and %d messages, want 500 shared between them", source, mine, theirs)
		}
		if d := e.Ingested(t, source, "duplicate") + other.Ingested(t, source, "duplicate"); d != 0 {
			t.Errorf("%s: %d messages handled twice", source, d)
		}
	}
}

func TestBrokers_StoreDownMessagesAreRedeliveredLaterNeverRejected(t *testing.T) {
	t.Parallel()
	n, a := brokertest.NewNATS(t), brokertest.NewAMQP(t)
	e := harness.Start(t, n.Env, a.Env)
	w := "bk-down-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))

	storeUp := e.StoreDown(t)
	var keys []string
	for _, b := range []brokertest.TestBroker{n, a} {
		keys = append(keys, publishOrders(t, b, "bk-down", w, 0, 3)...)
	}
	harness.WaitUntil(t, 2*harness.WaitLimit, "each broker's messages tried and refused by the store", func() (bool, string) {
		logs := e.Logs()
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

	e.LeadsDelivered(len(keys), 4*harness.WaitLimit)
	sentOnce(t, e, keys, nil)
	for _, source := range []string{"nats", "amqp"} {
		if got := e.Ingested(t, source, "accepted"); got != 3 {
			t.Errorf("%s: %d accepted, want 3", source, got)
		}
		if got := e.Ingested(t, source, "rejected"); got != 0 {
			t.Errorf("%s: %d rejected, want none", source, got)
		}
	}
	if got := a.Waiting(t, a.Reject); got != 0 {
		t.Errorf("%d RabbitMQ rejects, want none", got)
	}
}
