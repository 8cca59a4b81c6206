package tests

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
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
			// The reason is what HTTP answers the same body.
			status, answer := e.do(http.MethodPost, "/v1/events", "application/json", body)
			if status != http.StatusBadRequest && status != http.StatusConflict && status != http.StatusRequestEntityTooLarge {
				t.Errorf("refused body %d: HTTP answers it %d %s", i, status, answer)
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
		if got := e.ingested(t, "http", "rejected"); got != len(bad) {
			t.Errorf("%d HTTP requests counted rejected, want %d", got, len(bad))
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
