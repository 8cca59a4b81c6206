package tests

// Helpers of the broker tests (brokers_test.go, scaling_test.go): a NATS
// stream and a pair of RabbitMQ queues of each test's own, deleted when it
// ends; publishing call events to them; reading their rejects; counts
// from /metrics.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"ctjournal/adapters/calltouch/calltouchfake"
)

const (
	natsURL = "nats://127.0.0.1:4222"
	amqpURL = "amqp://guest:guest@127.0.0.1:5672/"
)

// testBroker is one broker as a test sees it.
type testBroker interface {
	source() string            // as in ctj_ingest_messages_total: nats or amqp
	env(env map[string]string) // an engineOption: serve consumes it
	publish(t *testing.T, body []byte)
	rejects(t *testing.T, n int) []rejected
}

// rejected is a message read back from a reject destination.
type rejected struct {
	body   []byte
	reason string // its reason_poisoned
}

// bodyOf is a POST /v1/events body: one envelope alone, else an array.
func bodyOf(t *testing.T, events ...event) []byte {
	if len(events) == 1 {
		return mustJSON(t, events[0])
	}
	return mustJSON(t, events)
}

// --- NATS ---

// natsBroker is a stream with a subject, a reject subject and a durable
// of the test's own.
type natsBroker struct {
	stream, subject, reject, durable string
	js                               natsgo.JetStreamContext
}

// newNATS names the test's stream and subjects; serve creates the stream,
// which is deleted, with its consumers, when the test ends.
func newNATS(t *testing.T) *natsBroker {
	t.Helper()
	id := randomHex(5)
	n := &natsBroker{
		stream: "CTJE2E_" + id, subject: "ctje2e." + id + ".events",
		reject: "ctje2e." + id + ".rejected", durable: "ctje2e_" + id,
	}
	n.js = natsJetStream(t)
	t.Cleanup(func() { deleteStream(t, n.js, n.stream) })
	return n
}

func natsJetStream(t *testing.T) natsgo.JetStreamContext {
	t.Helper()
	nc, err := natsgo.Connect(natsURL)
	if err != nil {
		t.Fatalf("NATS with JetStream must run on %s (.ci/run starts it): %v", natsURL, err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func deleteStream(t *testing.T, js natsgo.JetStreamContext, stream string) {
	if err := js.DeleteStream(stream); err != nil && !errors.Is(err, natsgo.ErrStreamNotFound) {
		t.Errorf("delete NATS stream %s: %v", stream, err)
	}
}

func (n *natsBroker) source() string { return "nats" }

func (n *natsBroker) env(env map[string]string) {
	env["CTJ_NATS_URL"] = natsURL
	env["CTJ_NATS_STREAM"] = n.stream
	env["CTJ_NATS_SUBJECT"] = n.subject
	env["CTJ_NATS_REJECT_SUBJECT"] = n.reject
	env["CTJ_NATS_DURABLE"] = n.durable
}

// publish returns once the stream has stored the message.
func (n *natsBroker) publish(t *testing.T, body []byte) {
	t.Helper()
	if _, err := n.js.Publish(n.subject, body); err != nil {
		t.Fatalf("publish to NATS %s: %v", n.subject, err)
	}
}

func (n *natsBroker) rejects(t *testing.T, count int) []rejected {
	t.Helper()
	sub, err := n.js.SubscribeSync(n.reject, natsgo.BindStream(n.stream), natsgo.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	var out []rejected
	for len(out) < count {
		m, err := sub.NextMsg(waitLimit)
		if err != nil {
			t.Fatalf("NATS reject %d of %d: %v", len(out)+1, count, err)
		}
		out = append(out, rejected{body: m.Data, reason: m.Header.Get("reason_poisoned")})
	}
	return out
}

// --- RabbitMQ ---

// amqpBroker is a queue and a reject queue of the test's own.
type amqpBroker struct {
	queue, reject string
	ch            *amqp091.Channel
}

// newAMQP declares the test's queues as serve does (so that messages
// published before serve starts are kept), and deletes them when it ends.
func newAMQP(t *testing.T) *amqpBroker {
	t.Helper()
	id := randomHex(5)
	a := &amqpBroker{queue: "ctje2e." + id + ".events", reject: "ctje2e." + id + ".rejected"}
	conn, err := amqp091.Dial(amqpURL)
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
		for _, q := range []string{a.queue, a.reject} {
			if _, err := a.ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete RabbitMQ queue %s: %v", q, err)
			}
		}
		conn.Close()
	})
	for _, q := range []string{a.queue, a.reject} {
		if _, err := a.ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (a *amqpBroker) source() string { return "amqp" }

func (a *amqpBroker) env(env map[string]string) {
	env["CTJ_AMQP_URL"] = amqpURL
	env["CTJ_AMQP_QUEUE"] = a.queue
	env["CTJ_AMQP_REJECT_QUEUE"] = a.reject
}

// publish returns once RabbitMQ has confirmed the message.
func (a *amqpBroker) publish(t *testing.T, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
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

func (a *amqpBroker) rejects(t *testing.T, count int) []rejected {
	t.Helper()
	var out []rejected
	eventually(t, fmt.Sprintf("%d messages in %s", count, a.reject), func() (bool, string) {
		d, ok, err := a.ch.Get(a.reject, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			reason, _ := d.Headers["reason_poisoned"].(string)
			out = append(out, rejected{body: d.Body, reason: reason})
		}
		return len(out) >= count, fmt.Sprintf("%d read", len(out))
	})
	return out
}

// waiting is how many messages a queue holds ready.
func (a *amqpBroker) waiting(t *testing.T, queue string) int {
	t.Helper()
	q, err := a.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

// --- counts ---

// ingested is ctj_ingest_messages_total of one source and result in p.
func (p *process) ingested(t *testing.T, source, result string) int {
	t.Helper()
	m, err := p.metrics()
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return int(m[fmt.Sprintf(`ctj_ingest_messages_total{result=%q,source=%q}`, result, source)])
}

// waitIngested waits until p counted n messages of source with result.
func (e *engine) waitIngested(source, result string, n int) {
	e.t.Helper()
	waitUntil(e.t, 2*waitLimit, fmt.Sprintf("%d %s messages from %s", n, result, source), func() (bool, string) {
		got := e.ingested(e.t, source, result)
		return got >= n, fmt.Sprintf("%d counted", got)
	})
}

// leadsDelivered waits up to limit until n leads of the engine's database
// are delivered.
func (e *engine) leadsDelivered(n int, limit time.Duration) {
	e.t.Helper()
	db := e.openDB(e.t)
	waitUntil(e.t, limit, fmt.Sprintf("%d leads delivered", n), func() (bool, string) {
		got := queryInt(e.t, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`)
		return got >= n, fmt.Sprintf("%d delivered", got)
	})
}

// --- a broker that comes and goes ---

// tcpProxy forwards connections to target while up; while down it
// closes every connection at once, as a broker out of reach would.
type tcpProxy struct {
	addr   string
	target string
	ln     net.Listener

	mu    sync.Mutex
	up    bool
	conns []net.Conn
}

// newProxy listens on a free port, down, until the test ends.
func newProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.setUp(false)
	})
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
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

func (p *tcpProxy) forward(c net.Conn) {
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

// setUp lets connections through, or ends them all and refuses more.
func (p *tcpProxy) setUp(up bool) {
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

// --- serve as it starts ---

// launchUnready starts serve on a fresh database and fake Calltouch, as
// startEngine does, without waiting for it to be ready: waitReady waits
// until /readyz answers 200, or says why it did not within waitLimit.
func launchUnready(t *testing.T, opts ...engineOption) (e *engine, waitReady func() error) {
	t.Helper()
	p := &process{env: defaultEnv(opts...), client: newClient(), stderr: &syncBuffer{}}
	p.dbName = fmt.Sprintf("%s%d_%s", dbPrefix, os.Getpid(), randomHex(6))
	if err := adminExec(`CREATE DATABASE "` + p.dbName + `"`); err != nil {
		t.Fatal(err)
	}
	p.dbURL = "postgres://postgres@127.0.0.1:5432/" + p.dbName + "?sslmode=disable"
	p.fake = calltouchfake.New()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p.addr = addr
	started := make(chan struct{})
	var startErr error
	go func() { startErr = p.startOnce(); close(started) }()
	waitReady = func() error { <-started; return startErr }
	e = &engine{t: t, process: p}
	t.Cleanup(func() {
		_ = waitReady()
		if err := errors.Join(p.shutdown(), p.serverErrorsSeen()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", e.logs())
		}
	})
	return e, waitReady
}

// runServe runs a serve of its own on e's database with extra settings
// (name, value pairs) until it exits, and returns its exit code and what
// it wrote.
func (e *engine) runServe(settings ...string) (code int, output string) {
	e.t.Helper()
	addr, err := freeAddr()
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve")
	cmd.Env = append(e.environ(), "CTJ_HTTP_ADDR="+addr)
	for i := 0; i+1 < len(settings); i += 2 {
		cmd.Env = append(cmd.Env, settings[i]+"="+settings[i+1])
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &exit)) {
		e.t.Fatalf("serve with %v did not exit by itself (%v):\n%s", settings, err, out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
