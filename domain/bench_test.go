package domain

import (
	"fmt"
	"testing"
)

// BenchmarkFold folds a whole order, call.ordered and three attempts, under
// each shape of policy: the projection's and a rebuild's hot path.
func BenchmarkFold(b *testing.B) {
	shapes := []struct {
		name   string
		policy Placement
		order  CallEvent
	}{
		{"no_filter", placement(1, commentDetails), ordered()},
		{"only_successful", placement(1, commentDetails, onlySuccessful), ordered()},
		{"only_last_attempt", placement(1, commentDetails, onlyLast), ordered()},
		{"both_filters", placement(1, commentDetails, bothFilters), ordered()},
		{"before_call_deferred", placement(1, commentDetails, beforeCall), ordered(deferred)},
	}
	for _, shape := range shapes {
		events := []LoggedEvent{}
		for i, e := range []CallEvent{
			shape.order,
			dialed(1), failed(1),
			dialed(2), failed(2),
			dialed(3), answered(3), lastAttempt(3),
		} {
			events = append(events, loggedAt(e, i+1))
		}
		b.Run(shape.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var s OrderState
				for _, e := range events {
					s, _ = s.Fold(e, shape.policy)
				}
			}
		})
	}
}

// BenchmarkBuildPayload builds one lead's payload with every optional field
// and a details block.
func BenchmarkBuildPayload(b *testing.B) {
	policy := *placement(1, commentDetails, func(p *Policy) { p.SendFormName, p.SendOrderDate = true, true }).Policy
	order := ordered(deferred, func(o *OrderData) {
		o.Details = map[string]string{"page": "/contacts", "utm_source": "yandex", "utm_campaign": "winter"}
	})
	attempt := answered(2)
	b.ReportAllocs()
	for b.Loop() {
		buildPayload(policy, "ord-1", order, &attempt)
	}
}

// BenchmarkParseBatch parses an ingest body of 1000 envelopes, an order's
// call.ordered and its answer alternately, as producers write them: the
// ingest's hot path.
func BenchmarkParseBatch(b *testing.B) {
	var body []byte
	body = append(body, '[')
	for i := range 500 {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"event_id":"%08x-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-%d","widget_id":"w-1",`+
			`"occurred_at":"2026-11-24T10:15:00+03:00","data":{"kind":"callback","client_phone":"8 (916) 123-45-67","form_name":"Callback",`+
			`"details":{"page":"/contacts","utm_source":"yandex"}}},`, 2*i, i)
		body = fmt.Appendf(body, `{"event_id":"%08x-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.answered","order_id":"ord-%d","widget_id":"w-1",`+
			`"occurred_at":"2026-11-24T10:16:00+03:00","data":{"attempt":1,"talk_seconds":42}}`, 2*i+1, i)
	}
	body = append(body, ']')
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBatch(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalEvent reads back a stored call.ordered with details, as
// PostgreSQL prints it: the projection's and the rebuild's hot path.
func BenchmarkUnmarshalEvent(b *testing.B) {
	stored := []byte(`{"data": {"kind": "callback", "details": {"page": "/catalog/item-7", "utm_source": "yandex"}, ` +
		`"form_name": "Обратный звонок", "client_phone": "79161234567", "calltouch_session_id": "100007"}, "type": "call.ordered", ` +
		`"event_id": "5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10", "order_id": "ord-7", "widget_id": "w-1", "occurred_at": "2026-11-24T07:15:00Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalEvent(stored); err != nil {
			b.Fatal(err)
		}
	}
}
