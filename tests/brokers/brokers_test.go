package brokers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/brokertest"

	natsgo "github.com/nats-io/nats.go"
)

// eachBroker runs test once against NATS and once against RabbitMQ.
func eachBroker(t *testing.T, test func(t *testing.T, b brokertest.TestBroker)) {
	t.Run("nats", func(t *testing.T) {
		t.Parallel()
		test(t, brokertest.NewNATS(t))
	})
	t.Run("amqp", func(t *testing.T) {
		t.Parallel()
		test(t, brokertest.NewAMQP(t))
	})
}

func TestBrokers_OrdersAreDeliveredOnceAndDuplicatesAcknowledged(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b brokertest.TestBroker) {
		e := harness.Start(t, b.Env)
		w := "bk-w-" + b.Source()
		e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
		first := brokertest.BodyOf(t, harness.Ordered("bk-o1-"+b.Source(), w, nil), harness.Answered("bk-o1-"+b.Source(), w, 1))
		b.Publish(t, first)
		b.Publish(t, brokertest.BodyOf(t, harness.Ordered("bk-o2-"+b.Source(), w, nil)))
		b.Publish(t, brokertest.BodyOf(t, harness.Answered("bk-o2-"+b.Source(), w, 1)))
		b.Publish(t, first) // again: every event known

		e.WaitForLead("bk-o1-"+b.Source()+"~1", "delivered")
		e.WaitForLead("bk-o2-"+b.Source()+"~1", "delivered")
		e.WaitIngested(b.Source(), "duplicate", 1)
		harness.Settled(t, e.Fake, 2)
		if got := e.Ingested(t, b.Source(), "accepted"); got != 3 {
			t.Errorf("%d messages counted accepted, want 3", got)
		}
		if got := e.Ingested(t, b.Source(), "rejected"); got != 0 {
			t.Errorf("%d messages counted rejected, want 0", got)
		}
	})
}

func TestBrokers_OnTheEmbeddedStore(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b brokertest.TestBroker) {
		e := harness.Start(t, b.Env, harness.OnEmbeddedStore(t.TempDir()))
		w, o := "bk-emb-w-"+b.Source(), "bk-emb-o-"+b.Source()
		e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
		b.Publish(t, brokertest.BodyOf(t, harness.Ordered(o, w, nil), harness.Answered(o, w, 1)))
		e.WaitForLead(o+"~1", "delivered")
		harness.Settled(t, e.Fake, 1)
		if got := e.Ingested(t, b.Source(), "accepted"); got != 1 {
			t.Errorf("%d messages counted accepted, want 1", got)
		}
	})
}

func TestBrokers_RefusedMessagesGoToTheRejectDestinationWithTheHTTPError(t *testing.T) {
	t.Parallel()
	eachBroker(t, func(t *testing.T, b brokertest.TestBroker) {
		e := harness.Start(t, b.Env)
		w := "bk-rej-" + b.Source()
		e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
		stored := harness.Ordered("bk-rej-o1-"+b.Source(), w, nil)
		b.Publish(t, brokertest.BodyOf(t, stored))
		e.WaitIngested(b.Source(), "accepted", 1)

		bad := [][]byte{
			[]byte(`{"event_id": `), // not JSON
			brokertest.BodyOf(t, harness.Ordered("bk-rej-o2-"+b.Source(), w, nil), harness.Dialed("bk-rej-o2-"+b.Source(), w, 0)), // attempt 0
			brokertest.BodyOf(t, stored.WithData("form_name", "another")),                                                         // event_id known with other content
			brokertest.BodyOf(t, harness.Ordered("bk-rej-o1-"+b.Source(), "another-widget", nil)),                                 // the order's widget differs
		}
		if b.Source() == "amqp" { // NATS's own payload limit (1 MB) refuses this before serve sees it
			bad = append(bad, []byte(`["`+strings.Repeat("x", 1<<20)+`"]`))
		}
		for _, body := range bad {
			b.Publish(t, body)
		}
		after := "bk-rej-o3-" + b.Source()
		b.Publish(t, brokertest.BodyOf(t, harness.Ordered(after, w, nil), harness.Answered(after, w, 1)))
		e.WaitForLead(after+"~1", "delivered") // rejects held nothing back

		// Messages are handled several at a time: rejects come in any order.
		reasons := map[string]string{}
		for _, r := range b.Rejects(t, len(bad)) {
			reasons[string(r.Body)] = r.Reason
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
				status, answer = e.Do(http.MethodPost, "/v1/events", "application/json", body)
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
		if got := e.Ingested(t, b.Source(), "rejected"); got != len(bad) {
			t.Errorf("%d messages counted rejected, want %d", got, len(bad))
		}
		if got, want := e.Ingested(t, "http", "rejected"), 4; got != want {
			t.Errorf("%d HTTP requests counted rejected, want %d", got, want)
		}
	})
}

func TestBrokers_OneOrdersEventsByHTTPNATSAndRabbitMQ(t *testing.T) {
	t.Parallel()
	n, a := brokertest.NewNATS(t), brokertest.NewAMQP(t)
	e := harness.Start(t, n.Env, a.Env)
	w, o := "bk-mix-w", "bk-mix-o"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	a.Publish(t, brokertest.BodyOf(t, harness.Answered(o, w, 2)))
	n.Publish(t, brokertest.BodyOf(t, harness.Failed(o, w, 1, "no_answer")))
	e.MustPost(harness.Ordered(o, w, nil))

	e.WaitForLead(o+"~1", "delivered")
	e.WaitForLead(o+"~2", "delivered")
	harness.Settled(t, e.Fake, 2)
	if x := e.MustOrder(o); len(x.Events) != 3 {
		t.Errorf("the order has %d events, want 3", len(x.Events))
	}
	for _, source := range []string{"http", "nats", "amqp"} {
		if got := e.Ingested(t, source, "accepted"); got != 1 {
			t.Errorf("%s: %d accepted, want 1", source, got)
		}
	}
}

func TestBrokers_ReadyOnceEveryConsumerSubscribedAndStillReadyWhenABrokerIsLost(t *testing.T) {
	t.Parallel()
	n, a := brokertest.NewNATS(t), brokertest.NewAMQP(t)
	proxy := brokertest.NewProxy(t, "127.0.0.1:4222") // NATS out of reach until set up
	e, waitReady := harness.StartUnready(t, n.Env, a.Env, harness.WithEnv("CTJ_NATS_URL", "nats://"+proxy.Addr))
	w := "bk-ready-w"

	harness.WaitUntil(t, harness.WaitLimit, "serve trying NATS in vain", func() (bool, string) {
		return strings.Contains(e.Logs(), `"msg":"broker consumer stopped; connecting again","part":"brokers","source":"nats"`), "no such line yet"
	})
	if status, body := e.Readyz(); status != http.StatusServiceUnavailable || !strings.Contains(body, "nats") {
		t.Fatalf("/readyz while NATS is out of reach: %d %s, want 503 naming nats", status, body)
	}
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil)) // HTTP works meanwhile
	e.MustPost(harness.Ordered("bk-ready-o1", w, nil), harness.Answered("bk-ready-o1", w, 1))
	if c := e.Connected(t, "nats"); c != 0 {
		t.Errorf("ctj_broker_connected{source=nats} %v while out of reach, want 0", c)
	}

	proxy.SetUp(true)
	if err := waitReady(); err != nil {
		t.Fatal(err)
	}
	if c := e.Connected(t, "nats") + e.Connected(t, "amqp"); c != 2 {
		t.Errorf("ctj_broker_connected sums to %v, want both brokers connected", c)
	}
	if got, want := e.BrokerStatus("nats"), (map[string]any{"subscribed": true, "connected": true}); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/status shows NATS %v, want %v", got, want)
	}

	proxy.SetUp(false) // lost later: still ready, HTTP still works
	harness.WaitUntil(t, harness.WaitLimit, "the NATS connection seen lost", func() (bool, string) {
		c := e.Connected(t, "nats")
		return c == 0, fmt.Sprintf("ctj_broker_connected %v", c)
	})
	if status, body := e.Readyz(); status != http.StatusOK {
		t.Fatalf("/readyz with NATS lost after start: %d %s, want 200", status, body)
	}
	if got, want := e.BrokerStatus("nats"), (map[string]any{"subscribed": true, "connected": false}); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/status shows NATS %v, want %v", got, want)
	}
	n.Publish(t, brokertest.BodyOf(t, harness.Ordered("bk-ready-o2", w, nil), harness.Answered("bk-ready-o2", w, 1)))
	proxy.SetUp(true)
	harness.WaitUntil(t, harness.WaitLimit, "the NATS connection back", func() (bool, string) {
		c := e.Connected(t, "nats")
		return c == 1, fmt.Sprintf("ctj_broker_connected %v", c)
	})
	e.WaitForLead("bk-ready-o2~1", "delivered")
	e.WaitForLead("bk-ready-o1~1", "delivered")
}

func TestBrokers_MisconfiguredBrokersEndServeWithCode2(t *testing.T) {
	t.Parallel()
	e := harness.Start(t)
	n := brokertest.NewNATS(t)
	nats := func(extra ...string) []string {
		return append([]string{"CTJ_NATS_URL", brokertest.NATSURL, "CTJ_NATS_STREAM", n.Stream, "CTJ_NATS_SUBJECT", n.Subject,
			"CTJ_NATS_REJECT_SUBJECT", n.Reject, "CTJ_NATS_DURABLE", n.Durable}, extra...)
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
		{"rejects to the queue consumed", []string{"CTJ_AMQP_URL", brokertest.AMQPURL, "CTJ_AMQP_QUEUE", "ctje2e.q", "CTJ_AMQP_REJECT_QUEUE", "ctje2e.q"},
			[]string{"CTJ_AMQP_REJECT_QUEUE"}},
	}
	for _, c := range cases {
		code, out := e.RunServe(c.settings...)
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
	if _, err := n.JS.AddStream(&natsgo.StreamConfig{Name: n.Stream, Subjects: []string{n.Subject}}); err != nil {
		t.Fatal(err)
	}
	code, out := e.RunServe(nats()...)
	if code != 2 || !strings.Contains(out, n.Stream) || !strings.Contains(out, n.Reject) {
		t.Errorf("serve with a stream lacking the reject subject: exit code %d, wrote %q; want 2 naming %s and %s", code, out, n.Stream, n.Reject)
	}
	info, err := n.JS.StreamInfo(n.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Config.Subjects, []string{n.Subject}) {
		t.Errorf("the stream's subjects became %v", info.Config.Subjects)
	}
}
