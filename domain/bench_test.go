package domain

import "testing"

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
