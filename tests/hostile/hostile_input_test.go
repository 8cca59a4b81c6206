package hostile

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/tests/harness"
)

// Input the store cannot hold (docs/api.md, "Events in"): times outside
// 2000–2100, U+0000 in any string, numbers beyond their field, parameters
// that are not valid UTF-8. Each is refused at the door with 400 naming it,
// nothing of its request is stored, and no other request is affected.

func TestHostileInput_EventsTheStoreCannotHoldAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	fake := e.NewFake(t)
	w := "hi-ev-w"
	e.PutPolicy(w, harness.PolicyFor(fake, nil))
	cases := []struct {
		name  string
		bad   func(o string) harness.Event
		field string
	}{
		{"occurred_at in year 0", func(o string) harness.Event {
			return harness.Ordered(o, w, nil).With("occurred_at", "0000-01-01T00:00:00Z")
		}, "occurred_at"},
		{"occurred_at in year 1, year 0 in UTC", func(o string) harness.Event {
			return harness.Ordered(o, w, nil).With("occurred_at", "0001-01-01T00:00:00+01:00")
		}, "occurred_at"},
		{"occurred_at just before 2000", func(o string) harness.Event {
			return harness.Dialed(o, w, 1).With("occurred_at", "1999-12-31T23:59:59Z")
		}, "occurred_at"},
		{"occurred_at in 2100", func(o string) harness.Event {
			return harness.Dialed(o, w, 1).With("occurred_at", "2100-01-01T00:00:00Z")
		}, "occurred_at"},
		{"call.answered in year 0", func(o string) harness.Event {
			return harness.Answered(o, w, 1).With("occurred_at", "0000-06-01T00:00:00Z")
		}, "occurred_at"},
		{"scheduled_at in year 0", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"scheduled_at": "0000-01-01T00:00:00Z"})
		}, "data.scheduled_at"},
		{"scheduled_at in year 1, year 0 in UTC", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"scheduled_at": "0001-01-01T00:00:00+01:00"})
		}, "data.scheduled_at"},
		{"scheduled_at in 2100", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"scheduled_at": "2100-01-01T00:00:00Z"})
		}, "data.scheduled_at"},
		{"talk_seconds over a day", func(o string) harness.Event { return harness.Answered(o, w, 1).WithData("talk_seconds", 86401) }, "data.talk_seconds"},
		{"talk_seconds beyond int64", func(o string) harness.Event {
			return harness.Answered(o, w, 1).WithData("talk_seconds", json.RawMessage("99999999999999999999"))
		}, "data.talk_seconds"},
		{"attempt beyond int64", func(o string) harness.Event {
			return harness.Dialed(o, w, 1).WithData("attempt", json.RawMessage("-99999999999999999999"))
		}, "data.attempt"},
		{"U+0000 in event_id", func(o string) harness.Event {
			return harness.Dialed(o, w, 1).With("event_id", harness.NewUUID()+"\x00")
		}, "event_id"},
		{"U+0000 in type", func(o string) harness.Event { return harness.Dialed(o, w, 1).With("type", "call.dialed\x00") }, "type"},
		{"U+0000 in order_id", func(o string) harness.Event { return harness.Dialed(o+"\x00", w, 1) }, "order_id"},
		{"U+0000 in widget_id", func(o string) harness.Event { return harness.Dialed(o, w+"\x00", 1) }, "widget_id"},
		{"U+0000 in occurred_at", func(o string) harness.Event {
			return harness.Dialed(o, w, 1).With("occurred_at", time.Now().UTC().Format(time.RFC3339)+"\x00")
		}, "occurred_at"},
		{"U+0000 in client_phone", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"client_phone": harness.TestPhone + "\x00"})
		}, "data.client_phone"},
		{"U+0000 in calltouch_session_id", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"calltouch_session_id": "s\x00"})
		}, "data.calltouch_session_id"},
		{"U+0000 in form_name", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"form_name": "\x00"}) }, "data.form_name"},
		{"U+0000 in a details value", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"details": map[string]string{"page": "/pricing\x00"}})
		}, "data.details.page"},
		{"U+0000 in a details key", func(o string) harness.Event {
			return harness.Ordered(o, w, map[string]any{"details": map[string]string{"pa\x00ge": "/pricing"}})
		}, "data.details"},
		{"U+0000 in reason", func(o string) harness.Event { return harness.Failed(o, w, 1, "busy\x00") }, "data.reason"},
		{"U+0000 in an unknown field", func(o string) harness.Event { return harness.Dialed(o, w, 1).With("source", "\x00") }, "source"},
	}
	var orders []string
	for i, c := range cases {
		good, bad := fmt.Sprintf("hi-ev-good-%d", i), fmt.Sprintf("hi-ev-bad-%d", i)
		orders = append(orders, good, bad)
		status, got := e.PostEvents([]harness.Event{harness.Ordered(good, w, nil), harness.Answered(good, w, 1), c.bad(bad)})
		harness.WantIngestError(t, c.name, status, got, http.StatusBadRequest, 2, c.field)
	}
	harness.AssertNotStored(e, fake, w, orders...)

	// The edges of the range are in it, and the engine decides and sends on.
	in := harness.Ordered("hi-ev-edges", w, map[string]any{"scheduled_at": "2099-12-31T23:59:59.999999Z"}).
		With("occurred_at", "2000-01-01T03:00:00+03:00")
	e.MustPost(in, harness.Answered("hi-ev-edges", w, 1).With("occurred_at", "1999-12-31T23:00:00-01:00"))
	e.WaitForLead("hi-ev-edges~1", "delivered")
}

func TestHostileInput_PoliciesWithU0000AreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	fake := e.NewFake(t)
	w := "hi-pol-w"
	path := "/v1/widgets/" + w + "/calltouch"
	for field, v := range map[string]any{
		"site_id": "123\x0045", "server": fake.URL() + "\x00", "token": harness.TestToken + "\x00", "hook": "after_call\x00",
	} {
		status, got := e.DoJSON(http.MethodPut, path, harness.PolicyFor(fake, map[string]any{field: v}))
		if status != http.StatusBadRequest || got["field"] != field || got["error"] == nil {
			t.Errorf("PUT a policy with U+0000 in %s: %d %v, want 400 naming %s", field, status, got, field)
		}
	}
	status, got := e.DoJSON(http.MethodPut, path, harness.PolicyFor(fake, map[string]any{"tap2call\x00": true}))
	if status != http.StatusBadRequest || got["error"] == nil {
		t.Errorf("PUT a policy with U+0000 in a member name: %d %v, want 400", status, got)
	}
	if status, got := e.DoJSON(http.MethodGet, path, nil); status != http.StatusNotFound {
		t.Errorf("GET the policy after refused PUTs: %d %v, want 404", status, got)
	}
}

func TestHostileInput_ParametersTheStoreCannotHoldAre400(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	cursor := func(order string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-11-24T07:15:00Z","o":"` + order + `","a":1}`))
	}
	cases := []struct {
		method, path string
		field        string
	}{
		{http.MethodGet, "/v1/orders/%00", "order_id"},
		{http.MethodGet, "/v1/orders/ord-%00-1", "order_id"},
		{http.MethodGet, "/v1/orders/%FF", "order_id"},
		{http.MethodGet, "/v1/orders/ord%C3", "order_id"},
		{http.MethodGet, "/v1/widgets/%00/calltouch", "widget_id"},
		{http.MethodGet, "/v1/widgets/w%FF/calltouch", "widget_id"},
		{http.MethodPut, "/v1/widgets/w%00/calltouch", "widget_id"},
		{http.MethodDelete, "/v1/widgets/%00/calltouch", "widget_id"},
		{http.MethodDelete, "/v1/widgets/%FE%FF/calltouch", "widget_id"},
		{http.MethodPost, "/v1/leads/o%00~1/redeliver", "key"},
		{http.MethodPost, "/v1/leads/o~1%FF/redeliver", "key"},
		{http.MethodGet, "/v1/leads?widget_id=%00", "widget_id"},
		{http.MethodGet, "/v1/leads?widget_id=w%FF", "widget_id"},
		{http.MethodGet, "/v1/leads?status=%00", "status"},
		{http.MethodGet, "/v1/leads?since=%00", "since"},
		{http.MethodGet, "/v1/leads?until=2026%FF", "until"},
		{http.MethodGet, "/v1/leads?limit=%00", "limit"},
		{http.MethodGet, "/v1/leads?cursor=%FF", "cursor"},
		{http.MethodGet, "/v1/leads?cursor=" + cursor(`o\u0000`), "cursor"},
		{http.MethodGet, "/v1/leads?%00=1", "query"},
		{http.MethodPost, "/v1/events?x=%FF", "x"},
	}
	for _, c := range cases {
		var body []byte
		ct := ""
		if c.method == http.MethodPut || c.method == http.MethodPost {
			body, ct = harness.MustJSON(t, harness.PolicyFor(e.Fake, nil)), "application/json"
		}
		status, out := e.Do(c.method, c.path, ct, body)
		got := harness.DecodeObject(t, c.method+" "+c.path, out)
		if status != http.StatusBadRequest || got["field"] != c.field || got["error"] == nil {
			t.Errorf("%s %s: %d %v, want 400 naming %s", c.method, c.path, status, got, c.field)
		}
	}
	// Valid UTF-8 that no order has is only unknown.
	if status, _ := e.Do(http.MethodGet, "/v1/orders/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7", "", nil); status != http.StatusNotFound {
		t.Errorf("GET an order with a Cyrillic id: %d, want 404", status)
	}
	if status, _ := e.Do(http.MethodGet, "/v1/widgets/%E2%9C%93/calltouch", "", nil); status != http.StatusNotFound {
		t.Errorf("GET the policy of a widget named ✓: %d, want 404", status)
	}
}

// Valid batches posted while other clients post bodies the store cannot
// hold: every valid request is 202 and delivered, every bad one 400, and
// nothing of a bad one is stored or sent, whatever requests share a group
// commit.
func TestHostileInput_BadRequestsChangeNoOtherRequestsAnswer(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	fake := e.NewFake(t)
	w := "hi-mix-w"
	e.PutPolicy(w, harness.PolicyFor(fake, nil))
	const goodClients, badClients, rounds, perBatch = 6, 3, 4, 8
	spoilers := []func(ev harness.Event) harness.Event{
		func(ev harness.Event) harness.Event { return ev.With("occurred_at", "0000-01-01T00:00:00Z") },
		func(ev harness.Event) harness.Event { return ev.WithData("form_name", "\x00") },
		func(ev harness.Event) harness.Event { return ev.With("occurred_at", "0001-01-01T00:00:00+01:00") },
		func(ev harness.Event) harness.Event { return ev.WithData("details", map[string]string{"k\x00": "v"}) },
		func(ev harness.Event) harness.Event { return ev.WithData("scheduled_at", "0000-01-01T00:00:00Z") },
	}

	var (
		mu        sync.Mutex
		wrong     []string
		badOrders []string
		wg        sync.WaitGroup
		start     = make(chan struct{})
	)
	post := func(batch []harness.Event, want int) {
		status, out, err := e.Send(http.MethodPost, "/v1/events", "application/json", harness.MustJSON(t, batch))
		mu.Lock()
		defer mu.Unlock()
		if err != nil || status != want {
			wrong = append(wrong, fmt.Sprintf("%d %s %v, want %d", status, out, err, want))
		}
	}
	for c := range goodClients {
		wg.Go(func() {
			<-start
			for r := range rounds {
				var batch []harness.Event
				for i := range perBatch {
					o := fmt.Sprintf("hi-mix-good-%d-%d-%d", c, r, i)
					batch = append(batch, harness.Ordered(o, w, nil), harness.Answered(o, w, 1))
				}
				post(batch, http.StatusAccepted)
			}
		})
	}
	for c := range badClients {
		for r := range rounds {
			o := fmt.Sprintf("hi-mix-bad-%d-%d", c, r)
			badOrders = append(badOrders, o)
		}
		wg.Go(func() {
			<-start
			for r := range rounds {
				o := fmt.Sprintf("hi-mix-bad-%d-%d", c, r)
				spoil := spoilers[(c*rounds+r)%len(spoilers)]
				post([]harness.Event{harness.Answered(o, w, 1), spoil(harness.Ordered(o, w, nil))}, http.StatusBadRequest)
			}
		})
	}
	close(start)
	wg.Wait()
	if wrong != nil {
		t.Fatalf("answers other than 202 to valid and 400 to bad requests: %v", wrong)
	}

	good := goodClients * rounds * perBatch
	harness.WaitForRequests(t, fake, good)
	harness.AssertNotStored(e, nil, w, badOrders...)
	time.Sleep(harness.Settle)
	if n := fake.Count(); n != good {
		t.Errorf("Calltouch got %d requests, want %d: one per valid order, none from a refused batch", n, good)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Form.Get("requestNumber"), "bad") {
			t.Errorf("Calltouch got a lead of a refused batch: %v", r.Form)
		}
	}
}
