package brokers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"ctjournal/app"
)

type ingestFunc func(ctx context.Context, body []byte) (app.IngestOutcome, error)

func (f ingestFunc) Handle(ctx context.Context, body []byte) (app.IngestOutcome, error) {
	return f(ctx, body)
}

// outcomes records what the router counted.
type outcomes struct {
	mu   sync.Mutex
	list []app.IngestResult
}

func (o *outcomes) observe(out app.IngestOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, out.Result())
}

func (o *outcomes) results() []app.IngestResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]app.IngestResult(nil), o.list...)
}

// failingPublisher fails its first n publishes.
type failingPublisher struct {
	message.Publisher
	mu sync.Mutex
	n  int
}

func (p *failingPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.Lock()
	fail := p.n > 0
	p.n--
	p.mu.Unlock()
	if fail {
		return errors.New("reject destination down")
	}
	return p.Publisher.Publish(topic, msgs...)
}

type routerRig struct {
	t        *testing.T
	pubsub   *gochannel.GoChannel
	counted  *outcomes
	rejected <-chan *message.Message
}

// startRouter runs a router over an in-memory pub/sub: messages come in
// on "in", rejects go to "rejected" through rejects (the pub/sub when nil).
func startRouter(t *testing.T, ingest Ingest, rejects func(message.Publisher) message.Publisher) routerRig {
	t.Helper()
	pubsub := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = pubsub.Close() })
	rejected, err := pubsub.Subscribe(context.Background(), "rejected")
	if err != nil {
		t.Fatal(err)
	}
	var pub message.Publisher = pubsub
	if rejects != nil {
		pub = rejects(pubsub)
	}
	counted := &outcomes{}
	router, err := NewRouter(RouterConfig{
		// One handler: the in-memory pub/sub gives every subscriber every message.
		Source: "test", Topic: "in", Subscriber: pubsub, Handlers: 1, Rejects: pub, RejectTopic: "rejected",
	}, Deps{Ingest: ingest, Observe: counted.observe, Logger: watermill.NopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	<-router.Running()
	return routerRig{t: t, pubsub: pubsub, counted: counted, rejected: rejected}
}

func (r routerRig) send(body string) {
	r.t.Helper()
	if err := r.pubsub.Publish("in", message.NewMessage(watermill.NewUUID(), []byte(body))); err != nil {
		r.t.Fatal(err)
	}
}

func (r routerRig) waitCounted(n int) []app.IngestResult {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.counted.results(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("counted %v, want %d outcomes", r.counted.results(), n)
	return nil
}

func (r routerRig) nextReject() *message.Message {
	r.t.Helper()
	select {
	case m := <-r.rejected:
		m.Ack()
		return m
	case <-time.After(30 * time.Second):
		r.t.Fatal("no reject published")
		return nil
	}
}

func (r routerRig) noReject() {
	r.t.Helper()
	select {
	case m := <-r.rejected:
		r.t.Fatalf("unexpected reject %s (%s)", m.Payload, m.Metadata.Get(middleware.ReasonForPoisonedKey))
	case <-time.After(200 * time.Millisecond):
	}
}

func TestRouter_StoredMessagesAreCountedOnce(t *testing.T) {
	rig := startRouter(t, ingestFunc(func(_ context.Context, body []byte) (app.IngestOutcome, error) {
		if string(body) == "known" {
			return app.IngestOutcome{Stored: app.AppendResult{Duplicates: 1}}, nil
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}), nil)
	rig.send("new")
	rig.send("known")
	got := rig.waitCounted(2)
	if len(got) != 2 || !(got[0] == app.IngestAccepted && got[1] == app.IngestDuplicate || got[1] == app.IngestAccepted && got[0] == app.IngestDuplicate) {
		t.Fatalf("counted %v, want one accepted and one duplicate", got)
	}
	rig.noReject()
}

func TestRouter_RefusedMessageIsRejectedWithTheHTTPError(t *testing.T) {
	index, field := 3, "data.attempt"
	rig := startRouter(t, ingestFunc(func(_ context.Context, body []byte) (app.IngestOutcome, error) {
		switch string(body) {
		case "bad":
			return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedInvalid, Message: "event 3: data.attempt: must be 1-100", Index: &index, Field: &field}}, nil
		case "conflict":
			return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedConflict, Message: "other content", Index: &index}}, nil
		case "not json":
			return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedInvalid, Message: "body is not valid JSON"}}, nil
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}), nil)
	wants := map[string]string{
		"bad":      `{"error":"event 3: data.attempt: must be 1-100","index":3,"field":"data.attempt"}`,
		"conflict": `{"error":"other content","index":3}`,
		"not json": `{"error":"body is not valid JSON","index":null,"field":null}`,
	}
	for body, want := range wants {
		rig.send(body)
		m := rig.nextReject()
		if string(m.Payload) != body {
			t.Errorf("reject body %q, want the original %q", m.Payload, body)
		}
		if got := m.Metadata.Get(middleware.ReasonForPoisonedKey); got != want {
			t.Errorf("reason_poisoned of %q = %s, want %s", body, got, want)
		}
	}
	rig.send("fine") // a reject holds nothing back
	got := rig.waitCounted(4)
	if got[3] != app.IngestAccepted {
		t.Fatalf("counted %v, want three rejected then accepted", got)
	}
	for _, r := range got[:3] {
		if r != app.IngestRejected {
			t.Fatalf("counted %v, want three rejected then accepted", got)
		}
	}
}

func TestRouter_StoreErrorsAndPanicsAreRetriedNeverRejected(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	rig := startRouter(t, ingestFunc(func(context.Context, []byte) (app.IngestOutcome, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 1, 2:
			return app.IngestOutcome{}, app.ErrUnavailable
		case 3:
			panic("a bug")
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}), nil)
	rig.send("body")
	if got := rig.waitCounted(1); got[0] != app.IngestAccepted {
		t.Fatalf("counted %v, want accepted", got)
	}
	rig.noReject()
	if got := rig.counted.results(); len(got) != 1 {
		t.Fatalf("counted %v, want one outcome", got)
	}
}

func TestRouter_RejectNotPublishedIsTriedAgain(t *testing.T) {
	rig := startRouter(t, ingestFunc(func(context.Context, []byte) (app.IngestOutcome, error) {
		return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedTooLarge, Message: "body is larger than 1 MiB"}}, nil
	}), func(p message.Publisher) message.Publisher { return &failingPublisher{Publisher: p, n: 2} })
	rig.send("huge")
	m := rig.nextReject()
	if got := m.Metadata.Get(middleware.ReasonForPoisonedKey); got != `{"error":"body is larger than 1 MiB"}` {
		t.Errorf("reason_poisoned = %s", got)
	}
	if got := rig.waitCounted(1); len(got) != 1 || got[0] != app.IngestRejected {
		t.Fatalf("counted %v, want one rejected", got)
	}
	rig.noReject()
}

func TestConsumer_MisconfiguredStopsAndOtherErrorsRetry(t *testing.T) {
	opens := 0
	c := NewConsumer("test", func(context.Context) (Session, error) {
		opens++
		if opens == 1 {
			return Session{}, errors.New("broker down")
		}
		return Session{}, &MisconfiguredError{Reason: "stream lacks a subject"}
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := c.Run(context.Background())
	var misconfigured *MisconfiguredError
	if !errors.As(err, &misconfigured) || opens != 2 {
		t.Fatalf("Run = %v after %d opens, want the misconfiguration after 2", err, opens)
	}
	if c.Ready() == nil || c.Connected() {
		t.Fatal("a consumer that never subscribed is ready or connected")
	}
}

func TestAtMost_HandlesNoMoreThanItsSlotsAtOnce(t *testing.T) {
	var mu sync.Mutex
	now, most := 0, 0
	release := make(chan struct{})
	h := atMost(2)(func(*message.Message) ([]*message.Message, error) {
		mu.Lock()
		now++
		most = max(most, now)
		mu.Unlock()
		<-release
		mu.Lock()
		now--
		mu.Unlock()
		return nil, nil
	})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := h(message.NewMessage(watermill.NewUUID(), nil)); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if most != 2 {
		t.Fatalf("%d handled at once, want 2", most)
	}
}

func TestAtMost_GivesUpWhenTheMessageIsCancelled(t *testing.T) {
	holding, release := make(chan struct{}), make(chan struct{})
	h := atMost(1)(func(*message.Message) ([]*message.Message, error) {
		close(holding)
		<-release
		return nil, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	first := message.NewMessage(watermill.NewUUID(), nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h(first)
	}()
	<-holding
	waiting := message.NewMessage(watermill.NewUUID(), nil)
	waiting.SetContext(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := h(waiting); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting message: %v, want it given up with the context", err)
	}
	close(release)
	<-done
}
