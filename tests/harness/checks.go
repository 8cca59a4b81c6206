package harness

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// StatusesOf lists the HTTP status of every try (0: no answer).
func StatusesOf(tries []Try) []int {
	var out []int
	for _, tr := range tries {
		out = append(out, Deref0(tr.HTTPStatus))
	}
	return out
}

// SameBodies requires every request to carry byte for byte the same body.
func SameBodies(t *testing.T, reqs []calltouchfake.Request) {
	t.Helper()
	for i, r := range reqs {
		if r.Body != reqs[0].Body {
			t.Errorf("request %d body %q differs from the first %q", i+1, r.Body, reqs[0].Body)
		}
	}
}

// Settled waits a moment and requires the fake to have got exactly n requests.
func Settled(t *testing.T, fake *calltouchfake.Server, n int) []calltouchfake.Request {
	t.Helper()
	time.Sleep(Settle)
	if got := fake.Count(); got != n {
		t.Errorf("Calltouch got %d requests, want exactly %d", got, n)
	}
	return fake.Requests()
}

// CanonicalEnvelope is a call event as the log keeps it, with data and
// any top-level field overridden.
func CanonicalEnvelope(t *testing.T, typ, orderID, widget string, data map[string]any, overrides map[string]any) string {
	e := Event{"event_id": NewUUID(), "type": typ, "order_id": orderID, "widget_id": widget,
		"occurred_at": time.Now().UTC().Format(time.RFC3339), "data": data}
	for k, v := range overrides {
		e[k] = v
	}
	return string(MustJSON(t, e))
}

// ListedRecord is one record of `ctjournal quarantine --json`.
type ListedRecord struct {
	Position      int64     `json:"position"`
	OrderID       *string   `json:"order_id"`
	Error         string    `json:"error"`
	QuarantinedAt time.Time `json:"quarantined_at"`
}

// WantIngestError checks a 400/409 answer of POST /v1/events: the status,
// a message, the index (nil: the key present with null) and, when field is
// not empty, the field.
func WantIngestError(t *testing.T, what string, status int, got map[string]any, wantStatus int, index any, field string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d %v, want %d", what, status, got, wantStatus)
		return
	}
	if msg, _ := got["error"].(string); msg == "" {
		t.Errorf("%s: no error message in %v", what, got)
	}
	gotIndex, present := got["index"]
	if !present {
		t.Errorf("%s: no index in %v, want %v", what, got, index)
	} else if fmt.Sprint(gotIndex) != fmt.Sprint(index) {
		t.Errorf("%s: index %v, want %v (answer %v)", what, gotIndex, index, got)
	}
	if field != "" && got["field"] != field {
		t.Errorf("%s: field %v, want %q (answer %v)", what, got["field"], field, got)
	}
}

// AssertNotStored proves that the orders were not stored: a later event of
// the widget is projected, and still none of the orders is known, and the
// fake Calltouch got nothing.
func AssertNotStored(e *Engine, fake *calltouchfake.Server, widget string, orders ...string) {
	e.T.Helper()
	sentinel := "sentinel-" + RandomHex(4)
	e.MustPost(Ordered(sentinel, widget, nil))
	e.WaitForEvents(sentinel, 1)
	for _, o := range orders {
		if status, x := e.Order(o); status != http.StatusNotFound {
			e.T.Errorf("order %s: GET /v1/orders answered %d %+v, want 404: part of a refused batch was stored", o, status, x)
		}
	}
	if fake != nil {
		time.Sleep(Settle)
		if n := fake.Count(); n != 0 {
			e.T.Errorf("Calltouch got %d requests from a refused batch, want 0", n)
		}
	}
}

// Deref0 is *p, or 0 when p is nil.
func Deref0(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
