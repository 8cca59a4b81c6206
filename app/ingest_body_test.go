package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"ctjournal/app"
)

// fakeLog stores what it is given, or fails with err.
type fakeLog struct {
	known map[string]bool
	err   error
}

func (l *fakeLog) Append(_ context.Context, events []app.NewEvent) (app.AppendResult, error) {
	if l.err != nil {
		return app.AppendResult{}, l.err
	}
	var r app.AppendResult
	for _, e := range events {
		if l.known[e.Event.EventID] {
			r.Duplicates++
			continue
		}
		l.known[e.Event.EventID] = true
		r.Accepted++
	}
	return r, nil
}

func envelope(id, order, widget string) string {
	return fmt.Sprintf(`{"event_id":%q,"type":"call.dialed","order_id":%q,"widget_id":%q,"occurred_at":"2026-11-24T10:15:00+03:00","data":{"attempt":1}}`, id, order, widget)
}

const (
	id1 = "5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10"
	id2 = "5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a11"
)

func TestIngestBody(t *testing.T) {
	cases := []struct {
		name       string
		body       string
		storeErr   error
		wantResult app.IngestResult
		wantJSON   string // the refusal, as HTTP answers it
	}{
		{name: "new events", body: "[" + envelope(id1, "o1", "w") + "," + envelope(id2, "o1", "w") + "]", wantResult: app.IngestAccepted},
		{name: "known events", body: envelope("00000000-0000-0000-0000-000000000001", "o1", "w"), wantResult: app.IngestDuplicate},
		{name: "not JSON", body: "{", wantResult: app.IngestRejected,
			wantJSON: `{"error":"body is not valid JSON","index":null,"field":null}`},
		{name: "a bad field", body: "[" + envelope(id1, "o1", "w") + "," + strings.Replace(envelope(id2, "o1", "w"), `"attempt":1`, `"attempt":0`, 1) + "]",
			wantResult: app.IngestRejected, wantJSON: `"index":1,"field":"data.attempt"}`},
		{name: "an order naming two widgets", body: "[" + envelope(id1, "o1", "w") + "," + envelope(id2, "o1", "v") + "]",
			wantResult: app.IngestRejected, wantJSON: `"index":1}`},
		{name: "over 1 MiB", body: `"` + strings.Repeat("x", app.MaxIngestBody) + `"`, wantResult: app.IngestRejected,
			wantJSON: `{"error":"body is larger than 1 MiB"}`},
		{name: "a value the store refused", body: envelope(id1, "o1", "w"), storeErr: fmt.Errorf("%w: out of range", app.ErrInvalidData),
			wantResult: app.IngestRejected, wantJSON: `{"error":"` + app.RefusedValueMessage + `","index":null,"field":null}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &fakeLog{known: map[string]bool{"00000000-0000-0000-0000-000000000001": true}, err: c.storeErr}
			out, err := app.NewIngestBody(app.NewIngestEvents(log)).Handle(context.Background(), []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if out.Result() != c.wantResult {
				t.Fatalf("result %s (%+v), want %s", out.Result(), out, c.wantResult)
			}
			if c.wantJSON == "" {
				return
			}
			got, err := json.Marshal(out.Refused)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(got), c.wantJSON) {
				t.Fatalf("refusal %s, want it to end with %s", got, c.wantJSON)
			}
		})
	}
}

func TestIngestBody_StoreDownIsAnError(t *testing.T) {
	log := &fakeLog{known: map[string]bool{}, err: fmt.Errorf("%w: connection refused", app.ErrUnavailable)}
	_, err := app.NewIngestBody(app.NewIngestEvents(log)).Handle(context.Background(), []byte(envelope(id1, "o1", "w")))
	if err == nil {
		t.Fatal("a store down gave an outcome, want an error to send the body again")
	}
}
