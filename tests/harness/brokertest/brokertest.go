// Package brokertest gives each end-to-end test a NATS stream and a pair
// of RabbitMQ queues of its own, deleted when it ends; publishes call events
// to them; reads their rejects; and puts a TCP proxy between serve and a
// broker, to take the broker away and bring it back.
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"ctjournal/tests/harness"

	natsgo "github.com/nats-io/nats.go"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

const (
	NATSURL = "nats://127.0.0.1:4222"
	AMQPURL = "amqp://guest:guest@127.0.0.1:5672/"
)

// TestBroker is one broker as a test sees it.
type TestBroker interface {
	Source() string            // as in ctj_ingest_messages_total: nats or amqp
	Env(env map[string]string) // an Option: serve consumes it
	Publish(t *testing.T, body []byte)
	Rejects(t *testing.T, n int) []Rejected
}

// Rejected is a message read back from a reject destination.
type Rejected struct {
	Body   []byte
	Reason string // its reason_poisoned
}

// BodyOf is a POST /v1/events body: one envelope alone, else an array.
func BodyOf(t *testing.T, events ...harness.Event) []byte {
	if len(events) == 1 {
		return harness.MustJSON(t, events[0])
	}
	return harness.MustJSON(t, events)
}

// --- NATS ---

// NATS is a stream with a subject, a reject subject and a durable
// of the test's own.
type NATS struct {
	Stream, Subject, Reject, Durable string
	JS                               natsgo.JetStreamContext
}

// NewNATS names the test's stream and subjects; serve creates the stream,
// which is deleted, with its consumers, when the test ends.
func NewNATS(t *testing.T) *NATS {
	t.Helper()
	id := harness.RandomHex(5)
	n := &NATS{
		Stream: "CTJE2E_" + id, Subject: "ctje2e." + id + ".events",
		Reject: "ctje2e." + id + ".Rejected", Durable: "ctje2e_" + id,
	}
	n.JS = NATSJetStream(t)
	t.Cleanup(func() { DeleteStream(t, n.JS, n.Stream) })
	return n
}

func NATSJetStream(t *testing.T) natsgo.JetStreamContext {
	t.Helper()
	nc, err := natsgo.Connect(NATSURL)
	if err != nil {
		t.Fatalf("NATS with JetStream must run on %s (.ci/run starts it): %v", NATSURL, err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func DeleteStream(t *testing.T, js natsgo.JetStreamContext, stream string) {
	if err := js.DeleteStream(stream); err != nil && !errors.Is(err, natsgo.ErrStreamNotFound) {
		t.Errorf("delete NATS stream %s: %v", stream, err)
	}
}

func (n *NATS) Source() string { return "nats" }

func (n *NATS) Env(env map[string]string) {
	env["CTJ_NATS_URL"] = NATSURL
	env["CTJ_NATS_STREAM"] = n.Stream
	env["CTJ_NATS_SUBJECT"] = n.Subject
	env["CTJ_NATS_REJECT_SUBJECT"] = n.Reject
	env["CTJ_NATS_DURABLE"] = n.Durable
}

// Publish returns once the stream has stored the message.
func (n *NATS) Publish(t *testing.T, body []byte) {
	t.Helper()
	if _, err := n.JS.Publish(n.Subject, body); err != nil {
		t.Fatalf("publish to NATS %s: %v", n.Subject, err)
	}
}

func (n *NATS) Rejects(t *testing.T, count int) []Rejected {
	t.Helper()
	sub, err := n.JS.SubscribeSync(n.Reject, natsgo.BindStream(n.Stream), natsgo.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	var out []Rejected
	for len(out) < count {
		m, err := sub.NextMsg(harness.WaitLimit)
		if err != nil {
			t.Fatalf("NATS reject %d of %d: %v", len(out)+1, count, err)
		}
		out = append(out, Rejected{Body: m.Data, Reason: m.Header.Get("reason_poisoned")})
	}
	return out
}

// --- RabbitMQ ---

// AMQP is a queue and a reject queue of the test's own.
type AMQP struct {
	queue, Reject string
	ch            *amqp091.Channel
}

// NewAMQP declares the test's queues as serve does (so that messages
// published before serve starts are kept), and deletes them when it ends.
func NewAMQP(t *testing.T) *AMQP {
	t.Helper()
	id := harness.RandomHex(5)
	a := &AMQP{queue: "ctje2e." + id + ".events", Reject: "ctje2e." + id + ".Rejected"}
	conn, err := amqp091.Dial(AMQPURL)
	if err != nil {
		t.Fatalf("RabbitMQ must run on 127.0.0.1:5672 with guest/guest (.ci/run starts it): %v", err)
	}
	a.ch, err = conn.Channel()
	if err == nil {
		err = a.ch.Confirm(false)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{a.queue, a.Reject} {
			if _, err := a.ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete RabbitMQ queue %s: %v", q, err)
			}
		}
		conn.Close()
	})
	for _, q := range []string{a.queue, a.Reject} {
		if _, err := a.ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (a *AMQP) Source() string { return "amqp" }

func (a *AMQP) Env(env map[string]string) {
	env["CTJ_AMQP_URL"] = AMQPURL
	env["CTJ_AMQP_QUEUE"] = a.queue
	env["CTJ_AMQP_REJECT_QUEUE"] = a.Reject
}

// Publish returns once RabbitMQ has confirmed the message.
func (a *AMQP) Publish(t *testing.T, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.WaitLimit)
	defer cancel()
	confirm, err := a.ch.PublishWithDeferredConfirmWithContext(ctx, "", a.queue, true, false,
		amqp091.Publishing{ContentType: "application/json", DeliveryMode: amqp091.Persistent, Body: body})
	if err != nil {
		t.Fatalf("publish to RabbitMQ %s: %v", a.queue, err)
	}
	if ok, err := confirm.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("publish to RabbitMQ %s: not confirmed (%v)", a.queue, err)
	}
}

func (a *AMQP) Rejects(t *testing.T, count int) []Rejected {
	t.Helper()
	var out []Rejected
	harness.Eventually(t, fmt.Sprintf("%d messages in %s", count, a.Reject), func() (bool, string) {
		d, ok, err := a.ch.Get(a.Reject, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			reason, _ := d.Headers["reason_poisoned"].(string)
			out = append(out, Rejected{Body: d.Body, Reason: reason})
		}
		return len(out) >= count, fmt.Sprintf("%d read", len(out))
	})
	return out
}

// Waiting is how many messages a queue holds ready.
func (a *AMQP) Waiting(t *testing.T, queue string) int {
	t.Helper()
	q, err := a.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

// --- a broker that comes and goes ---

// Proxy forwards connections to target while up; while down it
// closes every connection at once, as a broker out of reach would.
type Proxy struct {
	Addr   string
	target string
	ln     net.Listener

	mu    sync.Mutex
	up    bool
	conns []net.Conn
}

// NewProxy listens on a free port, down, until the test ends.
func NewProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.SetUp(false)
	})
	go p.serve()
	return p
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			c.Close()
			continue
		}
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	t, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, t)
	p.mu.Unlock()
	go func() { _, _ = io.Copy(t, c); t.Close() }()
	_, _ = io.Copy(c, t)
	c.Close()
}

// SetUp lets connections through, or ends them all and refuses more.
func (p *Proxy) SetUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}
