package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// wantIngestError checks a 400/409 answer of POST /v1/events: the status,
// a message, the index (nil: the key present with null) and, when field is
// not empty, the field.
func wantIngestError(t *testing.T, what string, status int, got map[string]any, wantStatus int, index any, field string) {
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

// assertNotStored proves that the orders were not stored: a later event of
// the widget is projected, and still none of the orders is known, and the
// fake Calltouch got nothing.
func assertNotStored(e *engine, fake *calltouchfake.Server, widget string, orders ...string) {
	e.t.Helper()
	sentinel := "sentinel-" + randomHex(4)
	e.mustPost(ordered(sentinel, widget, nil))
	e.waitForEvents(sentinel, 1)
	for _, o := range orders {
		if status, x := e.order(o); status != http.StatusNotFound {
			e.t.Errorf("order %s: GET /v1/orders answered %d %+v, want 404: part of a refused batch was stored", o, status, x)
		}
	}
	if fake != nil {
		time.Sleep(settle)
		if n := fake.Count(); n != 0 {
			e.t.Errorf("Calltouch got %d requests from a refused batch, want 0", n)
		}
	}
}

func TestIngestErrors(t *testing.T) {
	t.Parallel()
	ingestErrors(t, sharedEngine(t))
}

// ingestErrors runs the checks on base, an engine on either store.
func ingestErrors(t *testing.T, base *engine) {

	t.Run("a bad event stores nothing of its batch", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		fake := e.newFake(t)
		w := "ie-batch-w"
		e.putPolicy(w, policyFor(fake, nil))

		status, got := e.postEvents([]event{
			ordered("ie-batch-a", w, nil),
			answered("ie-batch-a", w, 1),
			answered("ie-batch-b", w, 1).withData("attempt", 0),
		})

		wantIngestError(t, "attempt 0 at index 2", status, got, http.StatusBadRequest, 2, "data.attempt")
		assertNotStored(e, fake, w, "ie-batch-a", "ie-batch-b")
	})

	t.Run("each invalid field is named with its index", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		w := "ie-fields-w"
		cases := []struct {
			name  string
			bad   func(o string) event
			field string
		}{
			{"no event_id", func(o string) event { return ordered(o, w, nil).with("event_id", nil) }, "event_id"},
			{"event_id not a UUID", func(o string) event { return ordered(o, w, nil).with("event_id", "evt-1") }, "event_id"},
			{"unknown type", func(o string) event { return ordered(o, w, nil).with("type", "call.hung_up") }, "type"},
			{"no order_id", func(o string) event { return answered(o, w, 1).with("order_id", "") }, "order_id"},
			{"order_id with ~", func(o string) event { return answered(o+"~1", w, 1) }, "order_id"},
			{"order_id of 129 characters", func(o string) event { return answered(strings.Repeat("x", 129), w, 1) }, "order_id"},
			{"widget_id with a space", func(o string) event { return answered(o, "w 1", 1) }, "widget_id"},
			{"no occurred_at", func(o string) event { return answered(o, w, 1).with("occurred_at", nil) }, "occurred_at"},
			{"occurred_at not RFC 3339", func(o string) event { return answered(o, w, 1).with("occurred_at", "24.11.2026 10:15") }, "occurred_at"},
			{"unknown kind", func(o string) event { return ordered(o, w, map[string]any{"kind": "sms"}) }, "data.kind"},
			{"callback without client phone", func(o string) event { return ordered(o, w, map[string]any{"client_phone": nil}) }, "data.client_phone"},
			{"invalid client phone", func(o string) event { return ordered(o, w, map[string]any{"client_phone": "12345"}) }, "data.client_phone"},
			{"client phone of letters", func(o string) event { return ordered(o, w, map[string]any{"client_phone": "call me"}) }, "data.client_phone"},
			{"tap2call without manager phone", func(o string) event {
				return ordered(o, w, map[string]any{"kind": "tap2call", "client_phone": nil})
			}, "data.manager_phone"},
			{"invalid manager phone", func(o string) event {
				return ordered(o, w, map[string]any{"kind": "tap2call", "manager_phone": "000"})
			}, "data.manager_phone"},
			{"scheduled_at not RFC 3339", func(o string) event { return ordered(o, w, map[string]any{"scheduled_at": "tomorrow"}) }, "data.scheduled_at"},
			{"details not strings", func(o string) event { return ordered(o, w, map[string]any{"details": map[string]any{"n": 1}}) }, "data.details"},
			{"details over 16 KiB", func(o string) event {
				return ordered(o, w, map[string]any{"details": map[string]any{"x": strings.Repeat("a", 17<<10)}})
			}, "data.details"},
			{"no attempt", func(o string) event { return answered(o, w, 1).withData("attempt", nil) }, "data.attempt"},
			{"attempt 0", func(o string) event { return dialed(o, w, 0) }, "data.attempt"},
			{"attempt 101", func(o string) event { return failed(o, w, 101, "") }, "data.attempt"},
			{"attempt not an integer", func(o string) event { return lastAttempt(o, w, 1).withData("attempt", 1.5) }, "data.attempt"},
			{"negative talk_seconds", func(o string) event { return answered(o, w, 1).withData("talk_seconds", -1) }, "data.talk_seconds"},
		}
		var orders []string
		for i, c := range cases {
			good := fmt.Sprintf("ie-fields-good-%d", i)
			orders = append(orders, good, fmt.Sprintf("ie-fields-bad-%d", i))
			status, got := e.postEvents([]event{ordered(good, w, nil), c.bad(fmt.Sprintf("ie-fields-bad-%d", i))})
			wantIngestError(t, c.name, status, got, http.StatusBadRequest, 1, c.field)
		}
		// A lone envelope that is invalid is index 0.
		status, got := e.postEvents(ordered("ie-fields-single", w, map[string]any{"client_phone": "+7 916"}))
		wantIngestError(t, "single envelope with an invalid phone", status, got, http.StatusBadRequest, 0, "data.client_phone")
		assertNotStored(e, nil, w, append(orders, "ie-fields-single")...)
	})

	t.Run("errors about the whole body have index null", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		w := "ie-body-w"
		var tooMany []event
		for i := range 1001 {
			tooMany = append(tooMany, ordered(fmt.Sprintf("ie-body-many-%d", i), w, nil))
		}
		cases := []struct {
			name string
			body []byte
		}{
			{"invalid JSON", []byte(`{"event_id": `)},
			{"trailing garbage", append(mustJSON(t, ordered("ie-body-trailing", w, nil)), []byte(" }")...)},
			{"a JSON string", []byte(`"call.ordered"`)},
			{"a JSON number", []byte(`42`)},
			{"JSON null", []byte(`null`)},
			{"an empty array", []byte(`[]`)},
			{"1001 events", mustJSON(t, tooMany)},
			{"empty body", nil},
		}
		for _, c := range cases {
			status, got := e.postRaw("application/json", c.body)
			wantIngestError(t, c.name, status, got, http.StatusBadRequest, nil, "")
		}
		assertNotStored(e, nil, w, "ie-body-trailing", "ie-body-many-0", "ie-body-many-1000")
	})

	t.Run("1000 events are one batch", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		var batch []event
		for i := range 1000 {
			batch = append(batch, ordered(fmt.Sprintf("ie-1000-%d", i), "ie-1000-w", nil))
		}
		status, got := e.postEvents(batch)
		if status != http.StatusAccepted || got["accepted"] != 1000.0 || got["duplicates"] != 0.0 {
			t.Errorf("1000 events: %d %v, want 202 with 1000 accepted", status, got)
		}
	})

	t.Run("the same event_id with other content is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		fake := e.newFake(t)
		w := "ie-conflict-w"
		e.putPolicy(w, policyFor(fake, nil))
		first := ordered("ie-conflict-a", w, nil)
		e.mustPost(first)
		changed := first.withData("client_phone", "+7 916 765-43-21")

		status, got := e.postEvents([]event{ordered("ie-conflict-b", w, nil), changed})

		wantIngestError(t, "changed resend at index 1", status, got, http.StatusConflict, 1, "")
		assertNotStored(e, fake, w, "ie-conflict-b")
		if x := e.mustOrder("ie-conflict-a"); len(x.Events) != 1 {
			t.Errorf("order ie-conflict-a has %d events, want the first one only", len(x.Events))
		}
	})

	t.Run("an order naming two widgets within a batch is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		status, got := e.postEvents([]event{
			ordered("ie-2w-other", "ie-2w-a", nil),
			ordered("ie-2w", "ie-2w-a", nil),
			answered("ie-2w", "ie-2w-b", 1),
		})
		wantIngestError(t, "second widget at index 2", status, got, http.StatusConflict, 2, "")
		assertNotStored(e, nil, "ie-2w-a", "ie-2w", "ie-2w-other")
	})

	t.Run("an order naming another widget than the stored one is a conflict", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		e.mustPost(ordered("ie-2ws", "ie-2ws-a", nil))
		status, got := e.postEvents([]event{ordered("ie-2ws-other", "ie-2ws-a", nil), answered("ie-2ws", "ie-2ws-b", 1)})
		wantIngestError(t, "stored order, other widget at index 1", status, got, http.StatusConflict, 1, "")
		assertNotStored(e, nil, "ie-2ws-a", "ie-2ws-other")
		if x := e.mustOrder("ie-2ws"); len(x.Events) != 1 || x.WidgetID != "ie-2ws-a" {
			t.Errorf("order ie-2ws: widget %s with %d events, want ie-2ws-a with 1", x.WidgetID, len(x.Events))
		}
	})

	t.Run("a resend is acknowledged as a duplicate", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		fake := e.newFake(t)
		w := "ie-dup-w"
		e.putPolicy(w, policyFor(fake, nil))
		first, second := ordered("ie-dup", w, nil), answered("ie-dup", w, 1)
		e.mustPost(first, second)

		status, got := e.postEvents(first)
		if status != http.StatusAccepted || len(got) != 2 || got["accepted"] != 0.0 || got["duplicates"] != 1.0 {
			t.Errorf("resend: %d %v, want 202 {\"accepted\":0,\"duplicates\":1}", status, got)
		}
		// The same content written otherwise (key order, spacing) is the same fact.
		var reordered bytes.Buffer
		fmt.Fprintf(&reordered, `{ "data" : {"attempt":1}, "occurred_at": %q,
			"widget_id": %q, "order_id": "ie-dup", "type": "call.answered", "event_id": %q }`,
			second["occurred_at"], w, second["event_id"])
		status, got = e.postRaw("application/json", reordered.Bytes())
		if status != http.StatusAccepted || got["accepted"] != 0.0 || got["duplicates"] != 1.0 {
			t.Errorf("resend written otherwise: %d %v, want 202 with 1 duplicate", status, got)
		}
		third := dialed("ie-dup", w, 2)
		status, got = e.postEvents([]event{second, third, first})
		if status != http.StatusAccepted || got["accepted"] != 1.0 || got["duplicates"] != 2.0 {
			t.Errorf("batch of two resends and a new event: %d %v, want 202 with 1 accepted, 2 duplicates", status, got)
		}

		e.waitForLead("ie-dup~1", "delivered")
		x := e.waitForEvents("ie-dup", 3)
		time.Sleep(settle)
		if x = e.mustOrder("ie-dup"); len(x.Events) != 3 {
			t.Errorf("order ie-dup has %d events, want 3 (duplicates are not stored again)", len(x.Events))
		}
		if n := fake.Count(); n != 1 {
			t.Errorf("Calltouch got %d requests, want 1", n)
		}
	})

	t.Run("concurrent resends store an event once", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		ev := ordered("ie-race", "ie-race-w", nil)
		answers := postConcurrently(e, func(int) event { return ev })
		if answers[`202 {"accepted":1,"duplicates":0}`] != 1 || answers[`202 {"accepted":0,"duplicates":1}`] != 7 {
			t.Errorf("8 concurrent posts of one event: %v, want one accepted and 7 duplicates", answers)
		}
		if x := e.waitForEvents("ie-race", 1); len(x.Events) != 1 {
			t.Errorf("order ie-race has %d events, want 1", len(x.Events))
		}
	})

	t.Run("concurrent events naming different widgets: one widget wins", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		answers := postConcurrently(e, func(i int) event { return answered("ie-race-2w", fmt.Sprintf("ie-race-w%d", i), 1) })
		conflicts := 0
		for answer, n := range answers {
			if strings.HasPrefix(answer, "409 ") {
				conflicts += n
			}
		}
		if answers[`202 {"accepted":1,"duplicates":0}`] != 1 || conflicts != 7 {
			t.Errorf("8 concurrent events of one order naming 8 widgets: %v, want one 202 and seven 409", answers)
		}
		if x := e.waitForEvents("ie-race-2w", 1); len(x.Events) != 1 {
			t.Errorf("order ie-race-2w has %d events, want 1", len(x.Events))
		}
	})

	t.Run("a body over 1 MiB is 413", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		w := "ie-size-w"
		over := padTo(t, []event{ordered("ie-size-over", w, nil)}, 1<<20+1)
		if status := e.postRefusedEarly(over); status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d bytes: %d, want 413", len(over), status)
		}
		exact := padTo(t, []event{ordered("ie-size-exact", w, nil)}, 1<<20)
		status, got := e.postRaw("application/json", exact)
		if status != http.StatusAccepted || got["accepted"] != 1.0 {
			t.Errorf("exactly 1 MiB: %d %v, want 202", status, got)
		}
		assertNotStored(e, nil, w, "ie-size-over")
	})

	t.Run("a body that is not JSON by Content-Type is 415", func(t *testing.T) {
		t.Parallel()
		e := base.on(t)
		w := "ie-ct-w"
		body := mustJSON(t, ordered("ie-ct-plain", w, nil))
		status, _ := e.postRaw("text/plain", body)
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d, want 415", status)
		}
		status, _ = e.postRaw("", mustJSON(t, ordered("ie-ct-none", w, nil)))
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("no Content-Type: %d, want 415", status)
		}
		status, got := e.postRaw("application/json; charset=utf-8", mustJSON(t, ordered("ie-ct-json", w, nil)))
		if status != http.StatusAccepted {
			t.Errorf("application/json; charset=utf-8: %d %v, want 202", status, got)
		}
		assertNotStored(e, nil, w, "ie-ct-plain", "ie-ct-none")
	})
}

// postConcurrently posts build(0..7) at once and counts the answers, as
// "status body" with 202 bodies canonical and 409 bodies cut to the status.
func postConcurrently(e *engine, build func(i int) event) map[string]int {
	e.t.Helper()
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		answers = map[string]int{}
		start   = make(chan struct{})
	)
	for i := range 8 {
		body := mustJSON(e.t, build(i))
		wg.Go(func() {
			<-start
			status, body, err := e.send(http.MethodPost, "/v1/events", "application/json", body)
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
func padTo(t *testing.T, events []event, size int) []byte {
	t.Helper()
	b := mustJSON(t, events)
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
	e := startEngine(t, withEnv("CTJ_INGEST_TOKEN", ingest), withEnv("CTJ_ADMIN_TOKEN", admin))
	w := "tok-w"
	bad := map[string]string{
		"no token":           "",
		"a wrong token":      "Bearer nope",
		"the other token":    "Bearer " + admin,
		"not a bearer token": "Basic " + ingest,
	}

	t.Run("ingest", func(t *testing.T) {
		e := e.on(t)
		for name, auth := range bad {
			status, got := e.postRaw("application/json", mustJSON(t, ordered("tok-refused", w, nil)), "Authorization", auth)
			if status != http.StatusUnauthorized {
				t.Errorf("POST /v1/events with %s: %d %v, want 401", name, status, got)
			}
		}
		status, got := e.postRaw("application/json", mustJSON(t, ordered("tok-ok", w, nil)), "Authorization", "Bearer "+ingest)
		if status != http.StatusAccepted || got["accepted"] != 1.0 {
			t.Errorf("POST /v1/events with the ingest token: %d %v, want 202", status, got)
		}
		e.waitForEvents("tok-ok", 1)
		if status, _ := e.order("tok-refused"); status != http.StatusNotFound {
			t.Errorf("an event posted without the token was stored: GET /v1/orders answered %d", status)
		}
	})

	t.Run("admin", func(t *testing.T) {
		e := e.on(t)
		policy := mustJSON(t, policyFor(e.fake, nil))
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
				status, body := e.do(ep.method, ep.path, ct, ep.body, "Authorization", auth)
				if status != http.StatusUnauthorized {
					t.Errorf("%s %s with %s: %d %s, want 401", ep.method, ep.path, name, status, body)
				}
			}
			if status, body := e.do(ep.method, ep.path, ct, ep.body, "Authorization", "Bearer "+admin); status != ep.ok {
				t.Errorf("%s %s with the admin token: %d %s, want %d", ep.method, ep.path, status, body, ep.ok)
			}
		}
	})

	t.Run("health and metrics need no token", func(t *testing.T) {
		e := e.on(t)
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"} {
			if status, body := e.do(http.MethodGet, path, "", nil); status != http.StatusOK {
				t.Errorf("GET %s without a token: %d %s, want 200", path, status, body)
			}
		}
	})

	t.Run("a 401 says nothing about the token", func(t *testing.T) {
		e := e.on(t)
		status, body := e.do(http.MethodGet, "/v1/leads", "", nil, "Authorization", "Bearer nope")
		if status != http.StatusUnauthorized || strings.Contains(string(body), admin) {
			t.Errorf("GET /v1/leads with a wrong token: %d %s", status, body)
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m["error"] == nil {
			t.Errorf("a 401 answer is not a JSON error: %s", body)
		}
	})
}

// postRefusedEarly posts body over a connection of its own and returns
// the answer's status. serve answers a body it refuses by its
// Content-Length at once and closes the connection soon after, so a
// client still writing may find the connection gone before it reads the
// answer: the body is written beside the reading, its error ignored.
func (e *engine) postRefusedEarly(body []byte) int {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url(""), "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: ctjournal\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	if e.ingestToken != "" {
		head += "Authorization: Bearer " + e.ingestToken + "\r\n"
	}
	go func() { _, _ = conn.Write(append([]byte(head+"\r\n"), body...)) }()
	_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("POST /v1/events of %d bytes: %v", len(body), err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
