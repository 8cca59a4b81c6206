package amqp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"ctjournal/adapters/brokers"
	"ctjournal/adapters/brokers/brokertest"
	"ctjournal/app"
)

// testURL is the RabbitMQ the tests run against (.ci/run starts it).
const testURL = "amqp://guest:guest@127.0.0.1:5672/"

type rig struct {
	t   *testing.T
	cfg Config
	ch  *amqp091.Channel
}

// newRig names queues of the test's own and deletes them when it ends.
func newRig(t *testing.T) rig {
	t.Helper()
	id := brokertest.Name()
	cfg := Config{URL: testURL, Queue: "ctjt." + id + ".events", RejectQueue: "ctjt." + id + ".rejected"}.WithDefaults()
	conn, err := amqp091.Dial(testURL)
	if err != nil {
		t.Fatalf("RabbitMQ must run on 127.0.0.1:5672 with guest/guest (.ci/run starts it): %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{cfg.Queue, cfg.RejectQueue} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", q, err)
			}
		}
		conn.Close()
	})
	return rig{t: t, cfg: cfg, ch: ch}
}

func (r rig) consumer(in *brokertest.Ingest) *brokers.Consumer {
	r.t.Helper()
	c, err := NewConsumer(r.cfg, in.Deps(), brokertest.Log())
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r rig) publish(headers amqp091.Table, bodies ...string) {
	r.t.Helper()
	for _, b := range bodies {
		err := r.ch.PublishWithContext(context.Background(), "", r.cfg.Queue, true, false,
			amqp091.Publishing{Headers: headers, Body: []byte(b), DeliveryMode: amqp091.Persistent})
		if err != nil {
			r.t.Fatalf("publish: %v", err)
		}
	}
}

// waiting is how many messages the queue holds ready.
func (r rig) waiting(queue string) int {
	r.t.Helper()
	q, err := r.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return q.Messages
}

// rejects takes the n messages of the reject queue.
func (r rig) rejects(n int) []amqp091.Delivery {
	r.t.Helper()
	var got []amqp091.Delivery
	brokertest.Eventually(r.t, fmt.Sprintf("%d rejects", n), func() bool {
		d, ok, err := r.ch.Get(r.cfg.RejectQueue, true)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok {
			got = append(got, d)
		}
		return len(got) >= n
	})
	return got
}

func bodies(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func handledOnce(t *testing.T, want []string, ins ...*brokertest.Ingest) {
	t.Helper()
	all := func() []string {
		var got []string
		for _, in := range ins {
			got = append(got, in.Bodies()...)
		}
		return got
	}
	brokertest.Eventually(t, fmt.Sprintf("%d messages handled", len(want)), func() bool { return len(all()) >= len(want) })
	got := all()
	slices.Sort(got)
	if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("handled %d messages, want each of %d once", len(got), len(want))
	}
}

func TestConsumer_MessagesAreStoredOnceAndAcknowledged(t *testing.T) {
	r := newRig(t)
	if _, err := r.ch.QueueDeclare(r.cfg.Queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	sent := bodies(50, "before")
	r.publish(nil, sent...)
	in := &brokertest.Ingest{}
	stop := brokertest.Start(t, r.consumer(in))
	more := bodies(50, "after")
	r.publish(nil, more...)
	handledOnce(t, append(sent, more...), in)
	stop() // a message not acknowledged would be back in the queue
	if n := r.waiting(r.cfg.Queue); n != 0 {
		t.Fatalf("%d messages left in the queue", n)
	}
	if got := in.Counted(); len(got) != 100 || slices.ContainsFunc(got, func(res app.IngestResult) bool { return res != app.IngestAccepted }) {
		t.Fatalf("counted %v, want 100 accepted", got)
	}
}

func TestConsumer_DeclaresBothQueuesDurable(t *testing.T) {
	r := newRig(t)
	brokertest.Run(t, r.consumer(&brokertest.Ingest{}))
	for _, q := range []string{r.cfg.Queue, r.cfg.RejectQueue} {
		// Declaring it durable fails on a queue that is not.
		if _, err := r.ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
	}
}

func TestConsumer_RefusedMessageGoesToTheRejectQueueWithItsReason(t *testing.T) {
	r := newRig(t)
	index, field := 0, "type"
	in := &brokertest.Ingest{Decide: func(body []byte, _ int) (app.IngestOutcome, error) {
		if string(body) == "bad" {
			return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedInvalid, Message: "event 0: type: unknown", Index: &index, Field: &field}}, nil
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}}
	stop := brokertest.Start(t, r.consumer(in))
	r.publish(nil, "bad", "good")
	handledOnce(t, []string{"bad", "good"}, in)
	reject := r.rejects(1)[0]
	if string(reject.Body) != "bad" {
		t.Errorf("reject body %q, want the original", reject.Body)
	}
	if got, want := reject.Headers[middleware.ReasonForPoisonedKey], `{"error":"event 0: type: unknown","index":0,"field":"type"}`; got != want {
		t.Errorf("reason_poisoned %v, want %s", got, want)
	}
	// The good message may have waited behind the bad one on the same
	// consumer, and be handled only now.
	brokertest.Eventually(t, "both messages answered", func() bool { return len(in.Counted()) == 2 })
	stop()
	if n := r.waiting(r.cfg.Queue); n != 0 {
		t.Fatalf("%d messages left in the queue", n)
	}
	if got := in.Counted(); len(got) != 2 || !slices.Contains(got, app.IngestRejected) {
		t.Fatalf("counted %v, want one rejected, one accepted", got)
	}
}

func TestConsumer_StoreDownIsRedeliveredUntilStored(t *testing.T) {
	r := newRig(t)
	// The first delivery fails every retry, the second once more.
	in := brokertest.StoreDownFor(7)
	stop := brokertest.Start(t, r.consumer(in))
	r.publish(nil, "body")
	brokertest.Eventually(t, "the message stored", func() bool { return len(in.Counted()) == 1 })
	stop()
	if n := len(in.Bodies()); n != 8 {
		t.Fatalf("handled %d times, want 8", n)
	}
	if n := r.waiting(r.cfg.Queue) + r.waiting(r.cfg.RejectQueue); n != 0 {
		t.Fatalf("%d messages left in the queues, want none", n)
	}
}

func TestConsumer_HeadersAreIgnoredWhateverTheirType(t *testing.T) {
	r := newRig(t)
	in := &brokertest.Ingest{}
	brokertest.Run(t, r.consumer(in))
	r.publish(amqp091.Table{
		"_watermill_message_uuid": int32(42),
		"count":                   int64(7),
		"flag":                    true,
		"nested":                  amqp091.Table{"a": "b"},
		"list":                    []any{"x", int32(1)},
	}, "with headers")
	handledOnce(t, []string{"with headers"}, in)
}

func TestConsumer_CompetingConsumersHandleEachMessageOnce(t *testing.T) {
	r := newRig(t)
	first, second := &brokertest.Ingest{}, &brokertest.Ingest{}
	brokertest.Run(t, r.consumer(first))
	brokertest.Run(t, r.consumer(second))
	sent := bodies(300, "shared")
	r.publish(nil, sent...)
	handledOnce(t, sent, first, second)
	t.Logf("first handled %d, second %d", len(first.Bodies()), len(second.Bodies()))
}

func TestConsumer_QueueOfOtherPropertiesIsMisconfigured(t *testing.T) {
	r := newRig(t)
	if _, err := r.ch.QueueDeclare(r.cfg.RejectQueue, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	err := r.consumer(&brokertest.Ingest{}).Run(context.Background())
	var misconfigured *brokers.MisconfiguredError
	if !errors.As(err, &misconfigured) || !strings.Contains(err.Error(), r.cfg.RejectQueue) {
		t.Fatalf("Run = %v, want a misconfiguration naming %s", err, r.cfg.RejectQueue)
	}
}

func TestRejectPublisher_FailsWhenRabbitMQCannotRouteTheReject(t *testing.T) {
	r := newRig(t)
	conn, err := wmamqp.NewConnection(wmamqp.ConnectionConfig{AmqpURI: testURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := message.NewMessage("id", []byte("refused"))
	msg.SetContext(context.Background())
	err = rejectPublisher{conn: conn}.Publish(r.cfg.RejectQueue, msg) // never declared
	if err == nil || !strings.Contains(err.Error(), "could not route") {
		t.Fatalf("Publish to a missing queue = %v, want unroutable", err)
	}
	if _, err := r.ch.QueueDeclare(r.cfg.RejectQueue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := (rejectPublisher{conn: conn}).Publish(r.cfg.RejectQueue, msg); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := r.rejects(1)[0]; string(got.Body) != "refused" || got.DeliveryMode != amqp091.Persistent {
		t.Fatalf("reject %q, mode %d", got.Body, got.DeliveryMode)
	}
}
