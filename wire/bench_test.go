package wire

import (
	"fmt"
	"testing"
)

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
