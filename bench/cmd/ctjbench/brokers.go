package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"ctjournal/wire"
)

// The broker phase publishes the same batches of 1000 events as the HTTP
// batch phase, one message each, to NATS JetStream and to RabbitMQ, which
// serve consumes; it measures from the first publish until serve has
// counted the last message stored; then HTTP batch ingest once more, on
// the log the broker phases left (batchAfterBrokers). A broker the run
// cannot reach is left out, with a note.

// brokers is the run's own stream, subjects, durable and queues, removed
// when the run ends. A nil connection: that broker is left out.
type brokers struct {
	natsURL, amqpURL string
	nc               *natsgo.Conn
	js               natsgo.JetStreamContext
	amqp             *amqp091.Connection
	stream, subject  string
	queue            string
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// connectBrokers reaches the brokers at BENCH_NATS_URL and BENCH_AMQP_URL
// (by default those on this machine); name makes the run's names unique.
func connectBrokers(name string, r *results) *brokers {
	b := &brokers{
		natsURL: or(os.Getenv("BENCH_NATS_URL"), "nats://127.0.0.1:4222"),
		amqpURL: or(os.Getenv("BENCH_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/"),
		stream:  "CTJBENCH_" + name, subject: "ctjbench." + name, queue: "ctjbench." + name,
	}
	nc, err := natsgo.Connect(b.natsURL)
	if err == nil {
		b.js, err = nc.JetStream()
	}
	if err != nil {
		r.note("NATS at %s cannot be reached (%v): broker ingest through it is not measured", b.natsURL, err)
	} else {
		b.nc = nc
	}
	if b.amqp, err = amqp091.Dial(b.amqpURL); err != nil {
		r.note("RabbitMQ cannot be reached (%v): broker ingest through it is not measured", err)
	}
	return b
}

// env is serve's settings for the brokers reached.
func (b *brokers) env() []string {
	var env []string
	if b.nc != nil {
		env = append(env, "CTJ_NATS_URL="+b.natsURL, "CTJ_NATS_STREAM="+b.stream, "CTJ_NATS_SUBJECT="+b.subject+".events",
			"CTJ_NATS_REJECT_SUBJECT="+b.subject+".rejected", "CTJ_NATS_DURABLE="+strings.ReplaceAll(b.subject, ".", "_"))
	}
	if b.amqp != nil {
		env = append(env, "CTJ_AMQP_URL="+b.amqpURL, "CTJ_AMQP_QUEUE="+b.queue+".events", "CTJ_AMQP_REJECT_QUEUE="+b.queue+".rejected")
	}
	return env
}

func (b *brokers) close() error {
	var errs []error
	if b.nc != nil {
		if err := b.js.DeleteStream(b.stream); err != nil && !errors.Is(err, natsgo.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete NATS stream %s: %w", b.stream, err))
		}
		b.nc.Close()
	}
	if b.amqp != nil {
		if ch, err := b.amqp.Channel(); err == nil {
			for _, q := range []string{b.queue + ".events", b.queue + ".rejected"} {
				if _, err := ch.QueueDelete(q, false, false, false); err != nil {
					errs = append(errs, fmt.Errorf("delete RabbitMQ queue %s: %w", q, err))
				}
			}
		}
		b.amqp.Close()
	}
	return errors.Join(errs...)
}

// publishers are the brokers reached, each a way to publish one body and
// wait until the broker has it.
func (b *brokers) publishers() (names []string, publish []func(ctx context.Context, body []byte) error, err error) {
	if b.nc != nil {
		names = append(names, "nats")
		publish = append(publish, func(ctx context.Context, body []byte) error {
			_, err := b.js.Publish(b.subject+".events", body, natsgo.Context(ctx))
			return err
		})
	}
	if b.amqp != nil {
		var mu sync.Mutex // the channel takes one publish at a time
		ch, err := b.amqp.Channel()
		if err == nil {
			err = ch.Confirm(false)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("RabbitMQ channel: %w", err)
		}
		names = append(names, "amqp")
		publish = append(publish, func(ctx context.Context, body []byte) error {
			mu.Lock()
			confirm, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", b.queue+".events", true, false,
				amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: body})
			mu.Unlock()
			if err != nil {
				return err
			}
			if ok, err := confirm.WaitContext(ctx); !ok {
				return fmt.Errorf("RabbitMQ did not confirm a message: %v", err)
			}
			return nil
		})
	}
	return names, publish, nil
}

func (b *bench) brokerPhase(ctx context.Context) error {
	names, publishers, err := b.brokers.publishers()
	if err != nil {
		return err
	}
	r := b.res
	for i, source := range names {
		say("ingest through %s: %d messages of 1000 events, %d publishers", source, b.p.batches, b.p.batchClients)
		_, bodies, err := b.batches(b.p.batches)
		if err != nil {
			return err
		}
		var t throughput
		err = b.cpu("ingest "+source+": ctjournal", func() error {
			t, err = b.ingestThroughBroker(ctx, source, publishers[i], bodies)
			return err
		})
		if err != nil {
			return fmt.Errorf("ingest through %s: %w", source, err)
		}
		perS, vsHTTP := num(t.PerS), (*float64)(nil)
		if r.IngestBatch != nil {
			vsHTTP = num(ratio(t.PerS, *r.IngestBatch))
		}
		switch source {
		case "nats":
			r.BrokerNATS, r.BrokerNATSRatio, r.NATS = perS, vsHTTP, &t
		case "amqp":
			r.BrokerAMQP, r.BrokerAMQPRatio, r.AMQP = perS, vsHTTP, &t
		}
		if _, _, err := b.settle(ctx, "after ingest through "+source, true, b.p.catchUpTimeout); err != nil {
			return err
		}
	}
	if r.IngestBatch == nil || len(names) == 0 {
		return nil
	}
	return b.batchAfterBrokers(ctx)
}

// batchAfterBrokers measures HTTP batch ingest again, on the log the
// broker phases left: each phase appends to a longer log than the one
// before, which costs PostgreSQL more per event, so the batch phase alone
// would set the brokers against a shorter log than theirs. The two HTTP
// figures bracket the broker phases; their mean is noted beside the
// ratios to the batch phase.
func (b *bench) batchAfterBrokers(ctx context.Context) error {
	r := b.res
	_, bodies, err := b.batches(b.p.batches)
	if err != nil {
		return err
	}
	var again throughput
	_ = b.cpu("ingest batch after brokers: ctjournal", func() error {
		again = b.ingestBatches(ctx, "POST /v1/events after the brokers, 1000 events", bodies)
		return nil
	})
	if err := checkErrors("ingest batch after brokers", again); err != nil {
		return err
	}
	if _, _, err := b.settle(ctx, "after ingest batch after brokers", true, b.p.catchUpTimeout); err != nil {
		return err
	}
	mean := (*r.IngestBatch + again.PerS) / 2
	vs := func(perS *float64) string {
		if perS == nil {
			return "not measured"
		}
		return fmt.Sprintf("%.2f", ratio(*perS, mean))
	}
	r.note("HTTP batch ingest measured again after the broker phases, on the log they left: %s events/s, %.2f of the batch phase; "+
		"against the mean of both HTTP figures (%s events/s), which bracket the broker phases: NATS %s, RabbitMQ %s",
		thousands(again.PerS), ratio(again.PerS, *r.IngestBatch), thousands(mean), vs(r.BrokerNATS), vs(r.BrokerAMQP))
	return nil
}

// ingestThroughBroker publishes the bodies from b.p.batchClients
// publishers and waits until serve has counted them all stored.
func (b *bench) ingestThroughBroker(ctx context.Context, source string, publish func(context.Context, []byte) error, bodies [][]byte) (throughput, error) {
	before, err := b.eng.accepted(ctx, source)
	if err != nil {
		return throughput{}, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, b.p.batchClients)
	for c := range b.p.batchClients {
		wg.Go(func() {
			for i := c; i < len(bodies); i += b.p.batchClients {
				if err := publish(ctx, bodies[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	published := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return throughput{}, fmt.Errorf("publish: %w", err)
	}
	deadline := start.Add(b.p.catchUpTimeout)
	for {
		n, err := b.eng.accepted(ctx, source)
		if err != nil {
			return throughput{}, err
		}
		if n >= before+len(bodies) {
			break
		}
		if time.Now().After(deadline) {
			return throughput{}, fmt.Errorf("serve stored %d of %d messages within %s", n-before, len(bodies), b.p.catchUpTimeout)
		}
		// Each look costs serve a scrape: few enough to take little from it.
		time.Sleep(50 * time.Millisecond)
	}
	secs := time.Since(start).Seconds()
	events := len(bodies) * wire.MaxBatch
	say("ingest through %s: %s events in %.2f s = %s events/s (all published after %.2f s)",
		source, thousands(float64(events)), secs, thousands(float64(events)/secs), published)
	return throughput{Events: events, Seconds: secs, PerS: float64(events) / secs}, nil
}

// metricsClient reads /metrics uncompressed, sparing serve the gzip.
var metricsClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

// accepted is serve's count of messages from source that stored events.
func (e *engine) accepted(ctx context.Context, source string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := fmt.Sprintf(`ctj_ingest_messages_total{result="accepted",source=%q} `, source)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			n, err := strconv.ParseFloat(v, 64)
			return int(n), err
		}
	}
	return 0, fmt.Errorf("serve's /metrics has no %s", strings.TrimSpace(want))
}
