package app_test

import (
	"context"
	"testing"

	"ctjournal/app"
	"ctjournal/wire/wiretest"
)

// discardLog takes every event as new and keeps none.
type discardLog struct{}

func (discardLog) Append(_ context.Context, events []app.NewEvent) (app.AppendResult, error) {
	return app.AppendResult{Accepted: len(events)}, nil
}

// BenchmarkIngestBody is the ingest path up to the store: from the bytes of
// a 1000-event body to the canonical forms the log receives.
func BenchmarkIngestBody(b *testing.B) {
	body := wiretest.OrdersBody(500)
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
