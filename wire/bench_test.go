package wire

import (
	"testing"

	"ctjournal/wire/wiretest"
)

func BenchmarkParseBatch(b *testing.B) {
	body := wiretest.OrdersBody(500)
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
