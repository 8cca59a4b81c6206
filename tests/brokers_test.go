package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"
)

// eachBroker runs test once against NATS and once against RabbitMQ.
func eachBroker(t *testing.T, test func(t *testing.T, b testBroker)) {
	t.Run("nats", func(t *testing.T) {
		t.Parallel()
		test(t, newNATS(t))
	})
	t.Run("amqp", func(t *testing.T) {
		t.Parallel()
		test(t, newAMQP(t))
	})
}

func TestBrokers_OrdersAreDeliveredOnceAndDuplicatesAcknowledged(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b testBroker) {
		e := startEngine(t, b.env)
		w := "bk-w-" + b.source()
		e.putPolicy(w, policyFor(e.fake, nil))
		first := bodyOf(t, ordered("bk-o1-"+b.source(), w, nil), answered("bk-o1-"+b.source(), w, 1))
		b.publish(t, first)
		b.publish(t, bodyOf(t, ordered("bk-o2-"+b.source(), w, nil)))
		b.publish(t, bodyOf(t, answered("bk-o2-"+b.source(), w, 1)))
		b.publish(t, first) // again: every event known

		e.waitForLead("bk-o1-"+b.source()+"~1", "delivered")
		e.waitForLead("bk-o2-"+b.source()+"~1", "delivered")
		e.waitIngested(b.source(), "duplicate", 1)
		settled(t, e.fake, 2)
		if got := e.ingested(t, b.source(), "accepted"); got != 3 {
			t.Errorf("%d messages counted accepted, want 3", got)
		}
		if got := e.ingested(t, b.source(), "rejected"); got != 0 {
			t.Errorf("%d messages counted rejected, want 0", got)
		}
	})
}

func TestBrokers_OnTheEmbeddedStore(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b testBroker) {
		e := startEngine(t, b.env, onEmbeddedStore(t.TempDir()))
		w, o := "bk-emb-w-"+b.source(), "bk-emb-o-"+b.source()
		e.putPolicy(w, policyFor(e.fake, nil))
		b.publish(t, bodyOf(t, ordered(o, w, nil), answered(o, w, 1)))
		e.waitForLead(o+"~1", "delivered")
		settled(t, e.fake, 1)
		if got := e.ingested(t, b.source(), "accepted"); got != 1 {
			t.Errorf("%d messages counted accepted, want 1", got)
		}
	})
}

func TestBrokers_RefusedMessagesGoToTheRejectDestinationWithTheHTTPError(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b testBroker) {
		e := startEngine(t, b.env)
		w := "bk-rej-" + b.source()
		e.putPolicy(w, policyFor(e.fake, nil))
		stored := ordered("bk-rej-o1-"+b.source(), w, nil)
		b.publish(t, bodyOf(t, stored))
		e.waitIngested(b.source(), "accepted", 1)

		bad := [][]byte{
			[]byte(`{"event_id": `), // not JSON
			bodyOf(t, ordered("bk-rej-o2-"+b.source(), w, nil), dialed("bk-rej-o2-"+b.source(), w, 0)), // attempt 0
			bodyOf(t, stored.withData("form_name", "another")),                                         // event_id known with other content
			bodyOf(t, ordered("bk-rej-o1-"+b.source(), "another-widget", nil)),                         // the order's widget differs
		}
		if b.source() == "amqp" { // NATS's own payload limit (1 MB) refuses this before serve sees it
			bad = append(bad, []byte(`["`+strings.Repeat("x", 1<<20)+`"]`))
		}
		for _, body := range bad {
			b.publish(t, body)
		}
		after := "bk-rej-o3-" + b.source()
		b.publish(t, bodyOf(t, ordered(after, w, nil), answered(after, w, 1)))
		e.waitForLead(after+"~1", "delivered") // rejects held nothing back

		// Messages are handled several at a time: rejects come in any order.
		reasons := map[string]string{}
		for _, r := range b.rejects(t, len(bad)) {
			reasons[string(r.body)] = r.reason
		}
		for i, body := range bad {
			reason, ok := reasons[string(body)]
			if !ok {
				t.Errorf("refused body %d %.80q: no reject with it", i, body)
				continue
			}
			// The reason is what HTTP answers the same body; a body over
			// the limit it answers before reading it, closing the
			// connection under the client's feet.
			answer := []byte(`{"error":"body is larger than 1 MiB"}`)
			if len(body) <= 1<<20 {
				var status int
				status, answer = e.do(http.MethodPost, "/v1/events", "application/json", body)
				if status != http.StatusBadRequest && status != http.StatusConflict {
					t.Errorf("refused body %d: HTTP answers it %d %s", i, status, answer)
				}
			}
			var got, want map[string]any
			if err := json.Unmarshal([]byte(reason), &got); err != nil {
				t.Errorf("refused body %d: reason_poisoned %q is not JSON: %v", i, reason, err)
			}
			_ = json.Unmarshal(answer, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("refused body %d: reason_poisoned %s, HTTP answers %s", i, reason, answer)
			}
		}
		if got := e.ingested(t, b.source(), "rejected"); got != len(bad) {
			t.Errorf("%d messages counted rejected, want %d", got, len(bad))
		}
		if got, want := e.ingested(t, "http", "rejected"), 4; got != want {
			t.Errorf("%d HTTP requests counted rejected, want %d", got, want)
		}
	})
}

func TestBrokers_OneOrdersEventsByHTTPNATSAndRabbitMQ(t *testing.T) {
	t.Parallel()
	n, a := newNATS(t), newAMQP(t)
	e := startEngine(t, n.env, a.env)
	w, o := "bk-mix-w", "bk-mix-o"
	e.putPolicy(w, policyFor(e.fake, nil))
	a.publish(t, bodyOf(t, answered(o, w, 2)))
	n.publish(t, bodyOf(t, failed(o, w, 1, "no_answer")))
	e.mustPost(ordered(o, w, nil))

	e.waitForLead(o+"~1", "delivered")
	e.waitForLead(o+"~2", "delivered")
	settled(t, e.fake, 2)
	if x := e.mustOrder(o); len(x.Events) != 3 {
		t.Errorf("the order has %d events, want 3", len(x.Events))
	}
	for _, source := range []string{"http", "nats", "amqp"} {
		if got := e.ingested(t, source, "accepted"); got != 1 {
			t.Errorf("%s: %d accepted, want 1", source, got)
		}
	}
}

// connected is ctj_broker_connected of a source.
func (p *process) connected(t *testing.T, source string) float64 {
	t.Helper()
	m, err := p.metrics()
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	v, ok := m[`ctj_broker_connected{source="`+source+`"}`]
	if !ok {
		t.Fatalf("no ctj_broker_connected for %s", source)
	}
	return v
}

// brokerStatus is a source's entry in GET /v1/status.
func (e *engine) brokerStatus(source string) map[string]any {
	e.t.Helper()
	status, st := e.doJSON(http.MethodGet, "/v1/status", nil)
	brokers, _ := st["brokers"].(map[string]any)
	if status != http.StatusOK || brokers == nil {
		e.t.Fatalf("GET /v1/status: %d %v", status, st)
	}
	entry, _ := brokers[source].(map[string]any)
	return entry
}

func TestBrokers_ReadyOnceEveryConsumerSubscribedAndStillReadyWhenABrokerIsLost(t *testing.T) {
	t.Parallel()
	n, a := newNATS(t), newAMQP(t)
	proxy := newProxy(t, "127.0.0.1:4222") // NATS out of reach until set up
	e, waitReady := launchUnready(t, n.env, a.env, withEnv("CTJ_NATS_URL", "nats://"+proxy.addr))
	w := "bk-ready-w"

	waitUntil(t, waitLimit, "serve trying NATS in vain", func() (bool, string) {
		return strings.Contains(e.logs(), `"msg":"broker consumer stopped; connecting again","part":"brokers","source":"nats"`), "no such line yet"
	})
	if status, body := e.readyz(); status != http.StatusServiceUnavailable || !strings.Contains(body, "nats") {
		t.Fatalf("/readyz while NATS is out of reach: %d %s, want 503 naming nats", status, body)
	}
	e.putPolicy(w, policyFor(e.fake, nil)) // HTTP works meanwhile
	e.mustPost(ordered("bk-ready-o1", w, nil), answered("bk-ready-o1", w, 1))
	if c := e.connected(t, "nats"); c != 0 {
		t.Errorf("ctj_broker_connected{source=nats} %v while out of reach, want 0", c)
	}

	proxy.setUp(true)
	if err := waitReady(); err != nil {
		t.Fatal(err)
	}
	if c := e.connected(t, "nats") + e.connected(t, "amqp"); c != 2 {
		t.Errorf("ctj_broker_connected sums to %v, want both brokers connected", c)
	}
	if got, want := e.brokerStatus("nats"), (map[string]any{"subscribed": true, "connected": true}); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/status shows NATS %v, want %v", got, want)
	}

	proxy.setUp(false) // lost later: still ready, HTTP still works
	waitUntil(t, waitLimit, "the NATS connection seen lost", func() (bool, string) {
		c := e.connected(t, "nats")
		return c == 0, fmt.Sprintf("ctj_broker_connected %v", c)
	})
	if status, body := e.readyz(); status != http.StatusOK {
		t.Fatalf("/readyz with NATS lost after start: %d %s, want 200", status, body)
	}
	if got, want := e.brokerStatus("nats"), (map[string]any{"subscribed": true, "connected": false}); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/status shows NATS %v, want %v", got, want)
	}
	n.publish(t, bodyOf(t, ordered("bk-ready-o2", w, nil), answered("bk-ready-o2", w, 1)))
	proxy.setUp(true)
	waitUntil(t, waitLimit, "the NATS connection back", func() (bool, string) {
		c := e.connected(t, "nats")
		return c == 1, fmt.Sprintf("ctj_broker_connected %v", c)
	})
	e.waitForLead("bk-ready-o2~1", "delivered")
	e.waitForLead("bk-ready-o1~1", "delivered")
}

func TestBrokers_MisconfiguredBrokersEndServeWithCode2(t *testing.T) {
	t.Parallel()
	e := startEngine(t)
	n := newNATS(t)
	nats := func(extra ...string) []string {
		return append([]string{"CTJ_NATS_URL", natsURL, "CTJ_NATS_STREAM", n.stream, "CTJ_NATS_SUBJECT", n.subject,
			"CTJ_NATS_REJECT_SUBJECT", n.reject, "CTJ_NATS_DURABLE", n.durable}, extra...)
	}
	cases := []struct {
		name     string
		settings []string
		want     []string // in what serve writes
	}{
		{"a subject with a space", nats("CTJ_NATS_SUBJECT", "ctje2e events"), []string{"CTJ_NATS_SUBJECT"}},
		{"rejects among the subjects consumed", nats("CTJ_NATS_SUBJECT", "ctje2e.>", "CTJ_NATS_REJECT_SUBJECT", "ctje2e.rejected"),
			[]string{"CTJ_NATS_REJECT_SUBJECT", "own rejects"}},
		{"a NATS URL of another scheme", nats("CTJ_NATS_URL", "http://127.0.0.1:4222"), []string{"CTJ_NATS_URL"}},
		{"a RabbitMQ URL of another scheme", []string{"CTJ_AMQP_URL", "http://guest:s3cret@127.0.0.1:5672/"}, []string{"CTJ_AMQP_URL"}},
		{"rejects to the queue consumed", []string{"CTJ_AMQP_URL", amqpURL, "CTJ_AMQP_QUEUE", "ctje2e.q", "CTJ_AMQP_REJECT_QUEUE", "ctje2e.q"},
			[]string{"CTJ_AMQP_REJECT_QUEUE"}},
	}
	for _, c := range cases {
		code, out := e.runServe(c.settings...)
		if code != 2 {
			t.Errorf("%s: exit code %d, want 2:\n%s", c.name, code, out)
		}
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: serve wrote %q, want it to name %s", c.name, out, want)
			}
		}
		if strings.Contains(out, "s3cret") {
			t.Errorf("%s: serve wrote the URL's password: %s", c.name, out)
		}
	}

	// A stream that exists without the reject subject is left as it is.
	if _, err := n.js.AddStream(&natsgo.StreamConfig{Name: n.stream, Subjects: []string{n.subject}}); err != nil {
		t.Fatal(err)
	}
	code, out := e.runServe(nats()...)
	if code != 2 || !strings.Contains(out, n.stream) || !strings.Contains(out, n.reject) {
		t.Errorf("serve with a stream lacking the reject subject: exit code %d, wrote %q; want 2 naming %s and %s", code, out, n.stream, n.reject)
	}
	info, err := n.js.StreamInfo(n.stream)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Config.Subjects, []string{n.subject}) {
		t.Errorf("the stream's subjects became %v", info.Config.Subjects)
	}
}
