package app_test

import (
	"context"
	"fmt"
	"testing"

	"ctjournal/app"
)

// discardLog takes every event as new and keeps none.
type discardLog struct{}

func (discardLog) Append(_ context.Context, events []app.NewEvent) (app.AppendResult, error) {
	return app.AppendResult{Accepted: len(events)}, nil
}

// BenchmarkIngestBody is the ingest path up to the store: from the bytes of
// a 1000-event body to the canonical forms the log receives.
func BenchmarkIngestBody(b *testing.B) {
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
	h := app.NewIngestBody(app.NewIngestEvents(discardLog{}))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := h.Handle(context.Background(), body)
		if err != nil || out.Refused != nil || out.Stored.Accepted != 1000 {
			b.Fatal(out, err)
		}
	}
}
