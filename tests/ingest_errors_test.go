package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/tests/harness"
)

func TestIngestErrors(t *testing.T) {
	t.Parallel()
	ingestErrors(t, harness.Shared(t))
}

// ingestErrors runs the checks on base, an engine on either store.
func ingestErrors(t *testing.T, base *harness.Engine) {

	t.Run("a bad event stores nothing of its batch", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		fake := e.NewFake(t)
		w := "ie-batch-w"
		e.PutPolicy(w, harness.PolicyFor(fake, nil))

		status, got := e.PostEvents([]harness.Event{
			harness.Ordered("ie-batch-a", w, nil),
			harness.Answered("ie-batch-a", w, 1),
			harness.Answered("ie-batch-b", w, 1).WithData("attempt", 0),
		})

		harness.WantIngestError(t, "attempt 0 at index 2", status, got, http.StatusBadRequest, 2, "data.attempt")
		harness.AssertNotStored(e, fake, w, "ie-batch-a", "ie-batch-b")
	})

	t.Run("each invalid field is named with its index", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		w := "ie-fields-w"
		cases := []struct {
			name  string
			bad   func(o string) harness.Event
			field string
		}{
			{"no event_id", func(o string) harness.Event { return harness.Ordered(o, w, nil).With("event_id", nil) }, "event_id"},
			{"event_id not a UUID", func(o string) harness.Event { return harness.Ordered(o, w, nil).With("event_id", "evt-1") }, "event_id"},
			{"unknown type", func(o string) harness.Event { return harness.Ordered(o, w, nil).With("type", "call.hung_up") }, "type"},
			{"no order_id", func(o string) harness.Event { return harness.Answered(o, w, 1).With("order_id", "") }, "order_id"},
			{"order_id with ~", func(o string) harness.Event { return harness.Answered(o+"~1", w, 1) }, "order_id"},
			{"order_id of 129 characters", func(o string) harness.Event { return harness.Answered(strings.Repeat("x", 129), w, 1) }, "order_id"},
			{"widget_id with a space", func(o string) harness.Event { return harness.Answered(o, "w 1", 1) }, "widget_id"},
			{"no occurred_at", func(o string) harness.Event { return harness.Answered(o, w, 1).With("occurred_at", nil) }, "occurred_at"},
			{"occurred_at not RFC 3339", func(o string) harness.Event { return harness.Answered(o, w, 1).With("occurred_at", "24.11.2026 10:15") }, "occurred_at"},
			{"unknown kind", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"kind": "sms"}) }, "data.kind"},
			{"callback without client phone", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"client_phone": nil}) }, "data.client_phone"},
			{"invalid client phone", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"client_phone": "12345"}) }, "data.client_phone"},
			{"client phone of letters", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"client_phone": "call me"}) }, "data.client_phone"},
			{"tap2call without manager phone", func(o string) harness.Event {
				return harness.Ordered(o, w, map[string]any{"kind": "tap2call", "client_phone": nil})
			}, "data.manager_phone"},
			{"invalid manager phone", func(o string) harness.Event {
				return harness.Ordered(o, w, map[string]any{"kind": "tap2call", "manager_phone": "000"})
			}, "data.manager_phone"},
			{"scheduled_at not RFC 3339", func(o string) harness.Event { return harness.Ordered(o, w, map[string]any{"scheduled_at": "tomorrow"}) }, "data.scheduled_at"},
			{"details not strings", func(o string) harness.Event {
				return harness.Ordered(o, w, map[string]any{"details": map[string]any{"n": 1}})
			}, "data.details"},
			{"details over 16 KiB", func(o string) harness.Event {
				return harness.Ordered(o, w, map[string]any{"details": map[string]any{"x": strings.Repeat("a", 17<<10)}})
			}, "data.details"},
			{"no attempt", func(o string) harness.Event { return harness.Answered(o, w, 1).WithData("attempt", nil) }, "data.attempt"},
			{"attempt 0", func(o string) harness.Event { return harness.Dialed(o, w, 0) }, "data.attempt"},
			{"attempt 101", func(o string) harness.Event { return harness.Failed(o, w, 101, "") }, "data.attempt"},
			{"attempt not an integer", func(o string) harness.Event { return harness.LastAttempt(o, w, 1).WithData("attempt", 1.5) }, "data.attempt"},
			{"negative talk_seconds", func(o string) harness.Event { return harness.Answered(o, w, 1).WithData("talk_seconds", -1) }, "data.talk_seconds"},
		}
		var orders []string
		for i, c := range cases {
			good := fmt.Sprintf("ie-fields-good-%d", i)
			orders = append(orders, good, fmt.Sprintf("ie-fields-bad-%d", i))
			status, got := e.PostEvents([]harness.Event{harness.Ordered(good, w, nil), c.bad(fmt.Sprintf("ie-fields-bad-%d", i))})
			harness.WantIngestError(t, c.name, status, got, http.StatusBadRequest, 1, c.field)
		}
		// A lone envelope that is invalid is index 0.
		status, got := e.PostEvents(harness.Ordered("ie-fields-single", w, map[string]any{"client_phone": "+7 916"}))
		harness.WantIngestError(t, "single envelope with an invalid phone", status, got, http.StatusBadRequest, 0, "data.client_phone")
		harness.AssertNotStored(e, nil, w, append(orders, "ie-fields-single")...)
	})

	t.Run("errors about the whole body have index null", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		w := "ie-body-w"
		var tooMany []harness.Event
		for i := range 1001 {
			tooMany = append(tooMany, harness.Ordered(fmt.Sprintf("ie-body-many-%d", i), w, nil))
		}
		cases := []struct {
			name string
			body []byte
		}{
			{"invalid JSON", []byte(`{"event_id": `)},
			{"trailing garbage", append(harness.MustJSON(t, harness.Ordered("ie-body-trailing", w, nil)), []byte(" }")...)},
			{"a JSON string", []byte(`"call.ordered"`)},
			{"a JSON number", []byte(`42`)},
			{"JSON null", []byte(`null`)},
			{"an empty array", []byte(`[]`)},
			{"1001 events", harness.MustJSON(t, tooMany)},
			{"empty body", nil},
		}
		for _, c := range cases {
			status, got := e.PostRaw("application/json", c.body)
			harness.WantIngestError(t, c.name, status, got, http.StatusBadRequest, nil, "")
		}
		harness.AssertNotStored(e, nil, w, "ie-body-trailing", "ie-body-many-0", "ie-body-many-1000")
	})

	t.Run("1000 events are one batch", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		var batch []harness.Event
		for i := range 1000 {
			batch = append(batch, harness.Ordered(fmt.Sprintf("ie-1000-%d", i), "ie-1000-w", nil))
		}
		status, got := e.PostEvents(batch)
		if status != http.StatusAccepted || got["accepted"] != 1000.0 || got["duplicates"] != 0.0 {
			t.Errorf("1000 events: %d %v, want 202 with 1000 accepted", status, got)
		}
	})

	t.Run("the same event_id with other content is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		fake := e.NewFake(t)
		w := "ie-conflict-w"
		e.PutPolicy(w, harness.PolicyFor(fake, nil))
		first := harness.Ordered("ie-conflict-a", w, nil)
		e.MustPost(first)
		changed := first.WithData("client_phone", "+7 916 765-43-21")

		status, got := e.PostEvents([]harness.Event{harness.Ordered("ie-conflict-b", w, nil), changed})

		harness.WantIngestError(t, "changed resend at index 1", status, got, http.StatusConflict, 1, "")
		harness.AssertNotStored(e, fake, w, "ie-conflict-b")
		if x := e.MustOrder("ie-conflict-a"); len(x.Events) != 1 {
			t.Errorf("order ie-conflict-a has %d events, want the first one only", len(x.Events))
		}
	})

	t.Run("an order naming two widgets within a batch is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		status, got := e.PostEvents([]harness.Event{
			harness.Ordered("ie-2w-other", "ie-2w-a", nil),
			harness.Ordered("ie-2w", "ie-2w-a", nil),
			harness.Answered("ie-2w", "ie-2w-b", 1),
		})
		harness.WantIngestError(t, "second widget at index 2", status, got, http.StatusConflict, 2, "")
		harness.AssertNotStored(e, nil, "ie-2w-a", "ie-2w", "ie-2w-other")
	})

	t.Run("an order naming another widget than the stored one is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		e.MustPost(harness.Ordered("ie-2ws", "ie-2ws-a", nil))
		status, got := e.PostEvents([]harness.Event{harness.Ordered("ie-2ws-other", "ie-2ws-a", nil), harness.Answered("ie-2ws", "ie-2ws-b", 1)})
		harness.WantIngestError(t, "stored order, other widget at index 1", status, got, http.StatusConflict, 1, "")
		harness.AssertNotStored(e, nil, "ie-2ws-a", "ie-2ws-other")
		if x := e.MustOrder("ie-2ws"); len(x.Events) != 1 || x.WidgetID != "ie-2ws-a" {
			t.Errorf("order ie-2ws: widget %s with %d events, want ie-2ws-a with 1", x.WidgetID, len(x.Events))
		}
	})

	t.Run("a resend is acknowledged as a duplicate", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		fake := e.NewFake(t)
		w := "ie-dup-w"
		e.PutPolicy(w, harness.PolicyFor(fake, nil))
		first, second := harness.Ordered("ie-dup", w, nil), harness.Answered("ie-dup", w, 1)
		e.MustPost(first, second)

		status, got := e.PostEvents(first)
		if status != http.StatusAccepted || len(got) != 2 || got["accepted"] != 0.0 || got["duplicates"] != 1.0 {
			t.Errorf("resend: %d %v, want 202 {\"accepted\":0,\"duplicates\":1}", status, got)
		}
		// The same content written otherwise (key order, spacing) is the same fact.
		var reordered bytes.Buffer
		fmt.Fprintf(&reordered, `{ "data" : {"attempt":1}, "occurred_at": %q,
			"widget_id": %q, "order_id": "ie-dup", "type": "call.answered", "event_id": %q }`,
			second["occurred_at"], w, second["event_id"])
		status, got = e.PostRaw("application/json", reordered.Bytes())
		if status != http.StatusAccepted || got["accepted"] != 0.0 || got["duplicates"] != 1.0 {
			t.Errorf("resend written otherwise: %d %v, want 202 with 1 duplicate", status, got)
		}
		third := harness.Dialed("ie-dup", w, 2)
		status, got = e.PostEvents([]harness.Event{second, third, first})
		if status != http.StatusAccepted || got["accepted"] != 1.0 || got["duplicates"] != 2.0 {
			t.Errorf("batch of two resends and a new event: %d %v, want 202 with 1 accepted, 2 duplicates", status, got)
		}

		e.WaitForLead("ie-dup~1", "delivered")
		x := e.WaitForEvents("ie-dup", 3)
		time.Sleep(harness.Settle)
		if x = e.MustOrder("ie-dup"); len(x.Events) != 3 {
			t.Errorf("order ie-dup has %d events, want 3 (duplicates are not stored again)", len(x.Events))
		}
		if n := fake.Count(); n != 1 {
			t.Errorf("Calltouch got %d requests, want 1", n)
		}
	})

	t.Run("concurrent resends store an event once", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		ev := harness.Ordered("ie-race", "ie-race-w", nil)
		answers := postConcurrently(e, func(int) harness.Event { return ev })
		if answers[`202 {"accepted":1,"duplicates":0}`] != 1 || answers[`202 {"accepted":0,"duplicates":1}`] != 7 {
			t.Errorf("8 concurrent posts of one event: %v, want one accepted and 7 duplicates", answers)
		}
		if x := e.WaitForEvents("ie-race", 1); len(x.Events) != 1 {
			t.Errorf("order ie-race has %d events, want 1", len(x.Events))
		}
	})

	t.Run("concurrent events naming different widgets: one widget wins", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		answers := postConcurrently(e, func(i int) harness.Event { return harness.Answered("ie-race-2w", fmt.Sprintf("ie-race-w%d", i), 1) })
		conflicts := 0
		for answer, n := range answers {
			if strings.HasPrefix(answer, "409 ") {
				conflicts += n
			}
		}
		if answers[`202 {"accepted":1,"duplicates":0}`] != 1 || conflicts != 7 {
			t.Errorf("8 concurrent events of one order naming 8 widgets: %v, want one 202 and seven 409", answers)
		}
		if x := e.WaitForEvents("ie-race-2w", 1); len(x.Events) != 1 {
			t.Errorf("order ie-race-2w has %d events, want 1", len(x.Events))
		}
	})

	t.Run("a body over 1 MiB is 413", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		w := "ie-size-w"
		over := padTo(t, []harness.Event{harness.Ordered("ie-size-over", w, nil)}, 1<<20+1)
		if status := e.PostRefusedEarly(over); status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d bytes: %d, want 413", len(over), status)
		}
		exact := padTo(t, []harness.Event{harness.Ordered("ie-size-exact", w, nil)}, 1<<20)
		status, got := e.PostRaw("application/json", exact)
		if status != http.StatusAccepted || got["accepted"] != 1.0 {
			t.Errorf("exactly 1 MiB: %d %v, want 202", status, got)
		}
		harness.AssertNotStored(e, nil, w, "ie-size-over")
	})

	t.Run("a body that is not JSON by Content-Type is 415", func(t *testing.T) {
		t.Parallel()
		e := base.On(t)
		w := "ie-ct-w"
		body := harness.MustJSON(t, harness.Ordered("ie-ct-plain", w, nil))
		status, _ := e.PostRaw("text/plain", body)
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d, want 415", status)
		}
		status, _ = e.PostRaw("", harness.MustJSON(t, harness.Ordered("ie-ct-none", w, nil)))
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("no Content-Type: %d, want 415", status)
		}
		status, got := e.PostRaw("application/json; charset=utf-8", harness.MustJSON(t, harness.Ordered("ie-ct-json", w, nil)))
		if status != http.StatusAccepted {
			t.Errorf("application/json; charset=utf-8: %d %v, want 202", status, got)
		}
		harness.AssertNotStored(e, nil, w, "ie-ct-plain", "ie-ct-none")
	})
}

// postConcurrently posts build(0..7) at once and counts the answers, as
// "status body" with 202 bodies canonical and 409 bodies cut to the status.
func postConcurrently(e *harness.Engine, build func(i int) harness.Event) map[string]int {
	e.T.Helper()
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		answers = map[string]int{}
		start   = make(chan struct{})
	)
	for i := range 8 {
		body := harness.MustJSON(e.T, build(i))
		wg.Go(func() {
			<-start
			status, body, err := e.Send(http.MethodPost, "/v1/events", "application/json", body)
			answer := fmt.Sprint(status, err)
			if status == http.StatusAccepted {
				var v struct{ Accepted, Duplicates int }
				_ = json.Unmarshal(body, &v)
				answer = fmt.Sprintf(`202 {"accepted":%d,"duplicates":%d}`, v.Accepted, v.Duplicates)
			} else if status == http.StatusConflict {
				answer = "409 conflict"
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// padTo encodes events as a JSON array padded with spaces to exactly size bytes.
func padTo(t *testing.T, events []harness.Event, size int) []byte {
	t.Helper()
	b := harness.MustJSON(t, events)
	if len(b) > size {
		t.Fatalf("the events alone are %d bytes, more than %d", len(b), size)
	}
	return append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), size-len(b)), ']')...)
}

// TestTokens checks CTJ_INGEST_TOKEN and CTJ_ADMIN_TOKEN: each guards its
// endpoints only, and the health endpoints need none.
func TestTokens(t *testing.T) {
	t.Parallel()
	const ingest, admin = "ingest-secret-0001", "admin-secret-0002"
	e := harness.Start(t, harness.WithEnv("CTJ_INGEST_TOKEN", ingest), harness.WithEnv("CTJ_ADMIN_TOKEN", admin))
	w := "tok-w"
	bad := map[string]string{
		"no token":           "",
		"a wrong token":      "Bearer nope",
		"the other token":    "Bearer " + admin,
		"not a bearer token": "Basic " + ingest,
	}

	t.Run("ingest", func(t *testing.T) {
		e := e.On(t)
		for name, auth := range bad {
			status, got := e.PostRaw("application/json", harness.MustJSON(t, harness.Ordered("tok-refused", w, nil)), "Authorization", auth)
			if status != http.StatusUnauthorized {
				t.Errorf("POST /v1/events with %s: %d %v, want 401", name, status, got)
			}
		}
		status, got := e.PostRaw("application/json", harness.MustJSON(t, harness.Ordered("tok-ok", w, nil)), "Authorization", "Bearer "+ingest)
		if status != http.StatusAccepted || got["accepted"] != 1.0 {
			t.Errorf("POST /v1/events with the ingest token: %d %v, want 202", status, got)
		}
		e.WaitForEvents("tok-ok", 1)
		if status, _ := e.Order("tok-refused"); status != http.StatusNotFound {
			t.Errorf("an event posted without the token was stored: GET /v1/orders answered %d", status)
		}
	})

	t.Run("admin", func(t *testing.T) {
		e := e.On(t)
		policy := harness.MustJSON(t, harness.PolicyFor(e.Fake, nil))
		endpoints := []struct {
			method, path string
			body         []byte
			ok           int
		}{
			{http.MethodPut, "/v1/widgets/" + w + "/calltouch", policy, http.StatusOK},
			{http.MethodGet, "/v1/widgets/" + w + "/calltouch", nil, http.StatusOK},
			{http.MethodDelete, "/v1/widgets/" + w + "/calltouch", nil, http.StatusOK},
			{http.MethodGet, "/v1/orders/tok-ok", nil, http.StatusOK},
			{http.MethodGet, "/v1/leads", nil, http.StatusOK},
			{http.MethodPost, "/v1/leads/nobody~1/redeliver", nil, http.StatusNotFound},
		}
		for _, ep := range endpoints {
			ct := ""
			if ep.body != nil {
				ct = "application/json"
			}
			for name, auth := range bad {
				if auth == "Bearer "+admin {
					auth = "Bearer " + ingest
				}
				status, body := e.Do(ep.method, ep.path, ct, ep.body, "Authorization", auth)
				if status != http.StatusUnauthorized {
					t.Errorf("%s %s with %s: %d %s, want 401", ep.method, ep.path, name, status, body)
				}
			}
			if status, body := e.Do(ep.method, ep.path, ct, ep.body, "Authorization", "Bearer "+admin); status != ep.ok {
				t.Errorf("%s %s with the admin token: %d %s, want %d", ep.method, ep.path, status, body, ep.ok)
			}
		}
	})

	t.Run("health and metrics need no token", func(t *testing.T) {
		e := e.On(t)
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"} {
			if status, body := e.Do(http.MethodGet, path, "", nil); status != http.StatusOK {
				t.Errorf("GET %s without a token: %d %s, want 200", path, status, body)
			}
		}
	})

	t.Run("a 401 says nothing about the token", func(t *testing.T) {
		e := e.On(t)
		status, body := e.Do(http.MethodGet, "/v1/leads", "", nil, "Authorization", "Bearer nope")
		if status != http.StatusUnauthorized || strings.Contains(string(body), admin) {
			t.Errorf("GET /v1/leads with a wrong token: %d %s", status, body)
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m["error"] == nil {
			t.Errorf("a 401 answer is not a JSON error: %s", body)
		}
	})
}

// A database that refuses connections (ALLOW_CONNECTIONS false, here) is a
// store out of reach: ingest and the queries answer 503, to be sent again,
// never 500; once it lets connections in again, the same events are
// stored.
func TestIngest_DatabaseRefusingConnectionsIs503(t *testing.T) {
	t.Parallel()
	e := harness.Start(t)
	events := []harness.Event{harness.Ordered("down-o-1", "down-w", nil)}
	storeUp := e.StoreDown(t)
	for i := range 3 {
		if status, got := e.PostEvents(events); status != http.StatusServiceUnavailable {
			t.Fatalf("POST /v1/events %d, the database refusing connections: %d %v, want 503", i, status, got)
		}
	}
	if status, got := e.DoJSON(http.MethodGet, "/v1/orders/down-o-1", nil); status != http.StatusServiceUnavailable {
		t.Fatalf("GET /v1/orders, the database refusing connections: %d %v, want 503", status, got)
	}
	storeUp()
	harness.WaitUntil(t, harness.WaitLimit, "the events stored once the database lets connections in", func() (bool, string) {
		status, got := e.PostEvents(events)
		return status == http.StatusAccepted, fmt.Sprintf("%d %v", status, got)
	})
}
