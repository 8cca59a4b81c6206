// Package wiretest holds request bodies shared by the benchmarks of the
// packages that parse them; it imports nothing of the project, so wire's
// own tests can use it.
package wiretest

import "fmt"

// OrdersBody is a POST /v1/events body of 2×orders events: each order
// placed (a phone in a written form, details) and then answered.
func OrdersBody(orders int) []byte {
	var body []byte
	body = append(body, '[')
	for i := range orders {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"event_id":"%08x-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.ordered","order_id":"ord-%d","widget_id":"w-1",`+
			`"occurred_at":"2026-11-24T10:15:00+03:00","data":{"kind":"callback","client_phone":"8 (916) 123-45-67","form_name":"Callback",`+
			`"details":{"page":"/contacts","utm_source":"yandex"}}},`, 2*i, i)
		body = fmt.Appendf(body, `{"event_id":"%08x-2b1f-4d6e-9a51-7f1f0c3f2a10","type":"call.answered","order_id":"ord-%d","widget_id":"w-1",`+
			`"occurred_at":"2026-11-24T10:16:00+03:00","data":{"attempt":1,"talk_seconds":42}}`, 2*i+1, i)
	}
	return append(body, ']')
}
