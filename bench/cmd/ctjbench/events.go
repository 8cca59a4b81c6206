package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"ctjournal/domain"
	"ctjournal/wire"
)

// event is one envelope as POST /v1/events takes it, and the canonical JSON
// ctjournal stores for it: the row the raw-INSERT baselines write.
type event struct {
	id        string
	orderID   string
	envelope  []byte
	canonical []byte
}

// orders generates distinct, valid call events: the orders of one stream
// (its prefix makes the order ids unique in the run) on one widget.
type orders struct {
	prefix string
	widget string
	base   time.Time
}

func newOrders(prefix, widget string) orders {
	return orders{prefix: prefix, widget: widget, base: time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)}
}

func (o orders) orderID(n int) string { return fmt.Sprintf("%s-%d", o.prefix, n) }

// lifecycle is order n as a call center reports it: every other order is
// answered at once (3 events), the rest after a failed first attempt (6).
func (o orders) lifecycle(n int) []event {
	at := func(step int) time.Time {
		return o.base.Add(time.Duration(n)*time.Second + time.Duration(step)*10*time.Second)
	}
	if n%2 == 0 {
		return []event{
			o.ordered(n, at(0)),
			o.attempt(n, domain.CallDialed, 1, at(1)),
			o.attempt(n, domain.CallAnswered, 1, at(2)),
		}
	}
	return []event{
		o.ordered(n, at(0)),
		o.attempt(n, domain.CallDialed, 1, at(1)),
		o.attempt(n, domain.CallFailed, 1, at(2)),
		o.attempt(n, domain.CallDialed, 2, at(3)),
		o.attempt(n, domain.CallAnswered, 2, at(4)),
		o.attempt(n, domain.CallLastAttempt, 2, at(5)),
	}
}

// stream is the events of orders first, first+1, … until count events.
func (o orders) stream(first, count int) []event {
	out := make([]event, 0, count+5)
	for n := first; len(out) < count; n++ {
		out = append(out, o.lifecycle(n)...)
	}
	return out[:count]
}

func (o orders) ordered(n int, at time.Time) event {
	data := fmt.Sprintf(`{"kind":"callback","client_phone":"+7 (916) %03d-%02d-%02d","calltouch_session_id":"%d",`+
		`"form_name":"Обратный звонок","details":{"page":"/catalog/item-%d","utm_source":"yandex"}}`,
		n/10000%1000, n/100%100, n%100, 100000+n, n%500)
	return o.envelope(n, domain.CallOrdered, at, data)
}

func (o orders) attempt(n int, t domain.EventType, attempt int, at time.Time) event {
	var data string
	switch t {
	case domain.CallAnswered:
		data = fmt.Sprintf(`{"attempt":%d,"talk_seconds":%d}`, attempt, 20+n%300)
	case domain.CallFailed:
		data = fmt.Sprintf(`{"attempt":%d,"reason":"no_answer"}`, attempt)
	default:
		data = fmt.Sprintf(`{"attempt":%d}`, attempt)
	}
	return o.envelope(n, t, at, data)
}

func (o orders) envelope(n int, t domain.EventType, at time.Time, data string) event {
	id := uuid.NewString()
	env := fmt.Appendf(nil, `{"event_id":%q,"type":%q,"order_id":%q,"widget_id":%q,"occurred_at":%q,"data":%s}`,
		id, t, o.orderID(n), o.widget, at.Format(time.RFC3339), data)
	return event{id: id, orderID: o.orderID(n), envelope: env}
}

// withCanonical fills in the canonical JSON of each event, as ctjournal
// computes it, for the baselines to insert the very bytes ctjournal stores.
func withCanonical(events []event) error {
	for i := range events {
		e, err := wire.ParseEvent(json.RawMessage(events[i].envelope))
		if err != nil {
			return fmt.Errorf("generated event is invalid: %w: %s", err, events[i].envelope)
		}
		if events[i].canonical, err = wire.MarshalEvent(e); err != nil {
			return err
		}
	}
	return nil
}

// batchBody is a JSON array of the events' envelopes.
func batchBody(events []event) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.envelope)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// leadPair is order n's call.ordered and the call.answered that makes it a
// lead under an after_call policy with no filter (key "<order>~1").
func (o orders) leadPair(n int) (ordered, answered event) {
	at := o.base.Add(time.Duration(n) * time.Millisecond)
	return o.ordered(n, at), o.attempt(n, domain.CallAnswered, 1, at.Add(30*time.Second))
}

func leadKey(orderID string) string { return orderID + "~1" }
