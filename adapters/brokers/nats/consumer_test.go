package nats

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	natsgo "github.com/nats-io/nats.go"

	"ctjournal/adapters/brokers"
	"ctjournal/adapters/brokers/brokertest"
	"ctjournal/app"
)

// testURL is the NATS server with JetStream the tests run against
// (.ci/run starts it).
const testURL = "nats://127.0.0.1:4222"

type rig struct {
	t   *testing.T
	cfg Config
	js  natsgo.JetStreamContext
}

// newRig names a stream, subjects and a durable of the test's own, and
// deletes the stream (and its consumers) when the test ends.
func newRig(t *testing.T) rig {
	t.Helper()
	id := brokertest.Name()
	cfg := Config{
		URL: testURL, Subject: "ctjt." + id + ".events", Stream: "CTJT_" + id,
		Durable: "ctjt_" + id, RejectSubject: "ctjt." + id + ".rejected",
	}.WithDefaults()
	nc, err := natsgo.Connect(testURL)
	if err != nil {
		t.Fatalf("NATS with JetStream must run on %s (.ci/run starts it): %v", testURL, err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := js.DeleteStream(cfg.Stream); err != nil && !errors.Is(err, natsgo.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", cfg.Stream, err)
		}
		nc.Close()
	})
	return rig{t: t, cfg: cfg, js: js}
}

func (r rig) start(in *brokertest.Ingest) *brokers.Consumer {
	r.t.Helper()
	c, err := NewConsumer(r.cfg, in.Deps(), brokertest.Log())
	if err != nil {
		r.t.Fatal(err)
	}
	brokertest.Run(r.t, c)
	return c
}

func (r rig) publish(bodies ...string) {
	r.t.Helper()
	for _, b := range bodies {
		if _, err := r.js.Publish(r.cfg.Subject, []byte(b)); err != nil {
			r.t.Fatalf("publish: %v", err)
		}
	}
}

// settled waits until the consumer has every message acknowledged.
func (r rig) settled() {
	r.t.Helper()
	brokertest.Eventually(r.t, "every message acknowledged", func() bool {
		info, err := r.js.ConsumerInfo(r.cfg.Stream, r.cfg.Durable)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
}

// rejects reads the n messages of the reject subject.
func (r rig) rejects(n int) []*natsgo.Msg {
	r.t.Helper()
	sub, err := r.js.SubscribeSync(r.cfg.RejectSubject, natsgo.BindStream(r.cfg.Stream), natsgo.OrderedConsumer())
	if err != nil {
		r.t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var msgs []*natsgo.Msg
	for range n {
		m, err := sub.NextMsg(brokertest.WaitLimit)
		if err != nil {
			r.t.Fatalf("reject %d of %d: %v", len(msgs)+1, n, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func bodies(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func handledOnce(t *testing.T, in *brokertest.Ingest, want []string) {
	t.Helper()
	brokertest.Eventually(t, fmt.Sprintf("%d messages handled", len(want)), func() bool { return len(in.Bodies()) >= len(want) })
	got := in.Bodies()
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("handled %d messages %v, want each of %d once", len(got), got, len(want))
	}
}

func TestConsumer_MessagesAlreadyInTheStreamAreStoredOnceAndAcknowledged(t *testing.T) {
	r := newRig(t)
	if err := ensureStream(r.js, r.cfg); err != nil {
		t.Fatal(err)
	}
	sent := bodies(50, "before")
	r.publish(sent...)
	in := &brokertest.Ingest{}
	r.start(in)
	more := bodies(50, "after")
	r.publish(more...)
	handledOnce(t, in, append(sent, more...))
	r.settled()
	if got := in.Counted(); len(got) != 100 || slices.ContainsFunc(got, func(res app.IngestResult) bool { return res != app.IngestAccepted }) {
		t.Fatalf("counted %v, want 100 accepted", got)
	}
}

func TestConsumer_RefusedMessageGoesToTheRejectSubjectWithItsReason(t *testing.T) {
	r := newRig(t)
	index := 2
	in := &brokertest.Ingest{Decide: func(body []byte, _ int) (app.IngestOutcome, error) {
		if string(body) == "bad" {
			return app.IngestOutcome{Refused: &app.IngestRefusal{Kind: app.RefusedConflict, Message: "event_id x stored with other content", Index: &index}}, nil
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}}
	r.start(in)
	r.publish("bad", "good")
	handledOnce(t, in, []string{"bad", "good"})
	reject := r.rejects(1)[0]
	if string(reject.Data) != "bad" {
		t.Errorf("reject body %q, want the original", reject.Data)
	}
	if got, want := reject.Header.Get(middleware.ReasonForPoisonedKey), `{"error":"event_id x stored with other content","index":2}`; got != want {
		t.Errorf("reason_poisoned %s, want %s", got, want)
	}
	r.settled()
	if got := in.Counted(); !slices.Contains(got, app.IngestRejected) || !slices.Contains(got, app.IngestAccepted) || len(got) != 2 {
		t.Fatalf("counted %v, want one rejected, one accepted", got)
	}
}

func TestConsumer_StoreDownIsRedeliveredUntilStored(t *testing.T) {
	r := newRig(t)
	// The first delivery fails every retry, the second once more.
	in := brokertest.StoreDownFor(7)
	r.start(in)
	r.publish("body")
	brokertest.Eventually(t, "the message stored", func() bool { return len(in.Counted()) == 1 })
	r.settled()
	info, err := r.js.StreamInfo(r.cfg.Stream, &natsgo.StreamInfoRequest{SubjectsFilter: r.cfg.RejectSubject})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(in.Bodies()); n != 8 || info.State.Msgs != 1 {
		t.Fatalf("handled %d times, stream holds %d messages; want 8 tries and no reject", n, info.State.Msgs)
	}
}

func TestConsumer_HeadersAreIgnored(t *testing.T) {
	r := newRig(t)
	in := &brokertest.Ingest{}
	r.start(in)
	msg := natsgo.NewMsg(r.cfg.Subject)
	msg.Data = []byte("with headers")
	msg.Header["X-Twice"] = []string{"1", "2"}
	msg.Header.Set("_watermill_message_uuid", "")
	msg.Header.Set("reason_poisoned", "not mine")
	if _, err := r.js.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	handledOnce(t, in, []string{"with headers"})
	r.settled()
}

func TestConsumer_ServesSharingTheDurableHandleEachMessageOnce(t *testing.T) {
	r := newRig(t)
	first, second := &brokertest.Ingest{}, &brokertest.Ingest{}
	r.start(first)
	r.start(second)
	sent := bodies(300, "shared")
	r.publish(sent...)
	brokertest.Eventually(t, "300 messages handled", func() bool { return len(first.Bodies())+len(second.Bodies()) >= 300 })
	r.settled()
	both := append(first.Bodies(), second.Bodies()...)
	slices.Sort(both)
	if !slices.Equal(both, slices.Sorted(slices.Values(sent))) {
		t.Fatalf("the two handled %d messages, want each of 300 once", len(both))
	}
	t.Logf("first handled %d, second %d", len(first.Bodies()), len(second.Bodies()))
}

func TestConsumer_MessageHandledLongerThanAckWaitIsNotHandedOut(t *testing.T) {
	r := newRig(t)
	r.cfg.AckWait = time.Second
	in := &brokertest.Ingest{Decide: func(body []byte, call int) (app.IngestOutcome, error) {
		if call == 1 {
			time.Sleep(4 * time.Second)
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}}
	r.start(in)
	r.start(in) // a second serve, which must not get the message meanwhile
	r.publish("slow")
	brokertest.Eventually(t, "the message stored", func() bool { return len(in.Counted()) == 1 })
	r.settled()
	if got := in.Bodies(); len(got) != 1 {
		t.Fatalf("handled %d times, want once", len(got))
	}
}

func TestConsumer_StopKeepsTheDurable(t *testing.T) {
	r := newRig(t)
	c, err := NewConsumer(r.cfg, (&brokertest.Ingest{}).Deps(), brokertest.Log())
	if err != nil {
		t.Fatal(err)
	}
	brokertest.Start(t, c)()
	if _, err := r.js.ConsumerInfo(r.cfg.Stream, r.cfg.Durable); err != nil {
		t.Fatalf("durable after the consumer stopped: %v", err)
	}
}

func TestEnsureStream(t *testing.T) {
	t.Run("created with both subjects when missing", func(t *testing.T) {
		r := newRig(t)
		if err := ensureStream(r.js, r.cfg); err != nil {
			t.Fatal(err)
		}
		info, err := r.js.StreamInfo(r.cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Config.Subjects; !slices.Equal(got, []string{r.cfg.Subject, r.cfg.RejectSubject}) {
			t.Fatalf("subjects %v", got)
		}
	})
	t.Run("an existing stream capturing both by wildcard is left as it is", func(t *testing.T) {
		r := newRig(t)
		wildcard := strings.TrimSuffix(r.cfg.Subject, ".events") + ".>"
		if _, err := r.js.AddStream(&natsgo.StreamConfig{Name: r.cfg.Stream, Subjects: []string{wildcard}}); err != nil {
			t.Fatal(err)
		}
		if err := ensureStream(r.js, r.cfg); err != nil {
			t.Fatal(err)
		}
		info, err := r.js.StreamInfo(r.cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Config.Subjects; !slices.Equal(got, []string{wildcard}) {
			t.Fatalf("subjects %v, want the stream unchanged", got)
		}
	})
	t.Run("an existing stream lacking a subject is refused, unchanged", func(t *testing.T) {
		r := newRig(t)
		if _, err := r.js.AddStream(&natsgo.StreamConfig{Name: r.cfg.Stream, Subjects: []string{r.cfg.Subject}}); err != nil {
			t.Fatal(err)
		}
		err := ensureStream(r.js, r.cfg)
		var misconfigured *brokers.MisconfiguredError
		if !errors.As(err, &misconfigured) || !strings.Contains(err.Error(), r.cfg.Stream) || !strings.Contains(err.Error(), r.cfg.RejectSubject) {
			t.Fatalf("ensureStream = %v, want a misconfiguration naming the stream and %s", err, r.cfg.RejectSubject)
		}
		info, err := r.js.StreamInfo(r.cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Config.Subjects; !slices.Equal(got, []string{r.cfg.Subject}) {
			t.Fatalf("subjects %v, want the stream unchanged", got)
		}
	})
}
