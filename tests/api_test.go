package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

func TestPolicyAPI(t *testing.T) {
	t.Parallel()
	e := sharedEngine(t)
	path := func(w string) string { return "/v1/widgets/" + w + "/calltouch" }

	t.Run("a widget that never had a policy is 404", func(t *testing.T) {
		e := e.on(t)
		if status, got := e.doJSON(http.MethodGet, path("pol-never"), nil); status != http.StatusNotFound {
			t.Errorf("GET: %d %v, want 404", status, got)
		}
		if status, got := e.doJSON(http.MethodDelete, path("pol-never"), nil); status != http.StatusNotFound {
			t.Errorf("DELETE: %d %v, want 404", status, got)
		}
	})

	t.Run("PUT, GET, DELETE keep versions and mask the token", func(t *testing.T) {
		e := e.on(t)
		w := "pol-w"
		first := policyFor(e.fake, map[string]any{
			"hook": "before_call", "send_form_name": true, "send_order_date": true,
			"comment_details": true, "tap2call": true,
		})
		got := e.putPolicy(w, first)
		want := merge(first, map[string]any{"version": 1.0, "token": "****" + testToken[len(testToken)-4:],
			"widget_id": w, "only_successful": false, "only_last_attempt": false})
		wantPolicy(t, "first PUT", got, want)

		second := policyFor(e.fake, map[string]any{"only_last_attempt": true, "site_id": "777"})
		got = e.putPolicy(w, second)
		want = merge(second, map[string]any{"version": 2.0, "token": "****" + testToken[len(testToken)-4:],
			"widget_id": w, "only_successful": false, "send_form_name": false, "send_order_date": false,
			"comment_details": false, "tap2call": false})
		wantPolicy(t, "second PUT", got, want)

		status, shown := e.doJSON(http.MethodGet, path(w), nil)
		if status != http.StatusOK {
			t.Fatalf("GET: %d %v", status, shown)
		}
		wantPolicy(t, "GET after the second PUT", shown, want)

		status, deleted := e.doJSON(http.MethodDelete, path(w), nil)
		if status != http.StatusOK {
			t.Fatalf("DELETE: %d %v", status, deleted)
		}
		wantPolicy(t, "DELETE", deleted, map[string]any{"enabled": false, "version": 3.0, "widget_id": w})
		if tok, _ := deleted["token"].(string); tok != "" && !strings.HasPrefix(tok, "****") {
			t.Errorf("DELETE shows the token %q unmasked", tok)
		}
		status, shown = e.doJSON(http.MethodGet, path(w), nil)
		if status != http.StatusOK {
			t.Fatalf("GET after DELETE: %d %v", status, shown)
		}
		wantPolicy(t, "GET after DELETE", shown, map[string]any{"enabled": false, "version": 3.0})

		again := e.putPolicy(w, policyFor(e.fake, nil))
		wantPolicy(t, "PUT after DELETE", again, map[string]any{"enabled": true, "version": 4.0})
	})

	t.Run("the token is masked by its length", func(t *testing.T) {
		e := e.on(t)
		for i, c := range []struct{ token, masked string }{
			{"abcdefghijklmnop", "****mnop"},
			{"abcdefghijkl", "****ijkl"},
			{"abcdefghijk", "****"},
			{"abc", "****"},
		} {
			got := e.putPolicy(fmt.Sprintf("pol-mask-%d", i), policyFor(e.fake, map[string]any{"token": c.token}))
			if got["token"] != c.masked {
				t.Errorf("token of %d characters shown as %v, want %q", len(c.token), got["token"], c.masked)
			}
		}
	})

	t.Run("defaults: enabled, after_call, every switch off", func(t *testing.T) {
		e := e.on(t)
		got := e.putPolicy("pol-defaults", map[string]any{"site_id": "1", "server": "api-node18.calltouch.ru", "token": "abcdefghijklmnop"})
		wantPolicy(t, "minimal PUT", got, map[string]any{
			"enabled": true, "hook": "after_call", "only_successful": false, "only_last_attempt": false,
			"send_form_name": false, "send_order_date": false, "comment_details": false, "tap2call": false,
			"server": "api-node18.calltouch.ru", "version": 1.0,
		})
	})

	t.Run("an invalid policy is 400 naming the field and stores nothing", func(t *testing.T) {
		e := e.on(t)
		w := "pol-invalid"
		e.putPolicy(w, policyFor(e.fake, nil))
		cases := []struct {
			name   string
			policy map[string]any
			field  string
		}{
			{"before_call with only_successful", policyFor(e.fake, map[string]any{"hook": "before_call", "only_successful": true}), "hook"},
			{"before_call with only_last_attempt", policyFor(e.fake, map[string]any{"hook": "before_call", "only_last_attempt": true}), "hook"},
			{"unknown hook", policyFor(e.fake, map[string]any{"hook": "sometimes"}), "hook"},
			{"no token", policyFor(e.fake, map[string]any{"token": nil}), "token"},
			{"empty token", policyFor(e.fake, map[string]any{"token": ""}), "token"},
			{"no site_id", policyFor(e.fake, map[string]any{"site_id": nil}), "site_id"},
			{"no server", policyFor(e.fake, map[string]any{"server": nil}), "server"},
			{"server with another scheme", policyFor(e.fake, map[string]any{"server": "ftp://calltouch.ru"}), "server"},
			{"server that is not a host", policyFor(e.fake, map[string]any{"server": "api node"}), "server"},
			{"enabled not a bool", policyFor(e.fake, map[string]any{"enabled": "yes"}), "enabled"},
		}
		for _, c := range cases {
			status, got := e.doJSON(http.MethodPut, path(w), c.policy)
			if status != http.StatusBadRequest || got["field"] != c.field || got["error"] == nil {
				t.Errorf("%s: %d %v, want 400 with field %q", c.name, status, got, c.field)
			}
		}
		if status, body := e.do(http.MethodPut, path(w), "application/json", []byte(`{"site_id": `)); status != http.StatusBadRequest {
			t.Errorf("a body that is not JSON: %d %s, want 400", status, body)
		}
		status, shown := e.doJSON(http.MethodGet, path(w), nil)
		if status != http.StatusOK || shown["version"] != 1.0 {
			t.Errorf("after refused PUTs: %d %v, want version 1 still", status, shown)
		}
	})

	t.Run("the token never comes back", func(t *testing.T) {
		e := e.on(t)
		if strings.Contains(e.responses(), testToken) {
			t.Errorf("a response body contains the token")
		}
		if strings.Contains(e.logs(), testToken) {
			t.Errorf("serve's log contains the token")
		}
	})
}

// wantPolicy checks the fields of want in got (numbers as JSON decodes them).
func wantPolicy(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: %s = %v, want %v (answer %v)", what, k, got[k], v, got)
		}
	}
}

// TestOrderExplanation checks GET /v1/orders/{id}, field by field, and
// that `ctjournal explain` tells the same story.
func TestOrderExplanation(t *testing.T) {
	t.Parallel()
	orderExplanation(t, sharedEngine(t))
}

// orderExplanation checks GET /v1/orders/{id} and ctjournal explain on e.
func orderExplanation(t *testing.T, e *engine) {
	fake := e.newFake(t)
	w := "expl-w"
	e.putPolicy(w, policyFor(fake, map[string]any{"only_successful": true}))
	// A try without an answer, a 503, then 200: three tries of every kind.
	fake.Script(calltouchfake.Drop(), calltouchfake.Status(http.StatusServiceUnavailable, `{"error": "busy"}`))
	o := "expl-o"
	occurred := "2026-11-24T10:15:00+03:00"
	e.mustPost(
		ordered(o, w, map[string]any{"calltouch_session_id": nil}).with("occurred_at", occurred),
		dialed(o, w, 1),
		failed(o, w, 1, "busy"),
	)
	e.mustPost(dialed(o, w, 2), answered(o, w, 2).withData("talk_seconds", 30))
	e.mustPost(failed(o, w, 2, "no_answer")) // a conflict: attempt 2 was answered
	e.waitForStatus(o, 2, "delivered")
	e.waitForEvents(o, 6)

	t.Run("unknown order is 404", func(t *testing.T) {
		e := e.on(t)
		if status, _ := e.order("expl-nobody"); status != http.StatusNotFound {
			t.Errorf("GET /v1/orders/expl-nobody: %d, want 404", status)
		}
	})

	var raw map[string]any
	t.Run("the explanation's shape", func(t *testing.T) {
		e := e.on(t)
		status, body := e.do(http.MethodGet, "/v1/orders/"+o, "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v1/orders/%s: %d %s", o, status, body)
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		checkExplanationShape(t, raw, o, w)
	})

	t.Run("events and decisions say what happened", func(t *testing.T) {
		e := e.on(t)
		x := e.mustOrder(o)
		types := []string{}
		for _, ev := range x.Events {
			types = append(types, ev.Type)
		}
		wantTypes := []string{"call.ordered", "call.dialed", "call.failed", "call.dialed", "call.answered", "call.failed"}
		if !slices.Equal(types, wantTypes) {
			t.Errorf("events %q, want %q", types, wantTypes)
		}
		if len(x.Events) == 6 {
			if x.Events[5].Note == nil || !strings.Contains(*x.Events[5].Note, "conflict") {
				t.Errorf("the second outcome of attempt 2 has note %v, want a conflict", deref(x.Events[5].Note))
			}
			if !x.Events[0].OccurredAt.Equal(mustTime(t, occurred)) {
				t.Errorf("occurred_at %s, want %s", x.Events[0].OccurredAt, occurred)
			}
		}
		if len(x.Decisions) != 2 {
			t.Fatalf("decisions %v, want 2", x.Decisions)
		}
		skipped, sent := x.Decisions[0], x.Decisions[1]
		if skipped.Decision != "skip" || skipped.Reason != "attempt 1 failed; only successful calls are sent" || skipped.Status != "skipped" {
			t.Errorf("attempt 1: %s", skipped)
		}
		if sent.Decision != "send" || deref(sent.Key) != o || sent.Status != "delivered" ||
			!slices.Equal(sent.Warnings, []string{warnNoSession}) || deref(sent.PolicyVersion) != 1 {
			t.Errorf("attempt 2: %s", sent)
		}
		wantPayload := map[string]string{"phoneNumber": wantPhone, "requestNumber": o, "comment": "CallKeeper"}
		if !reflect.DeepEqual(sent.Payload, wantPayload) {
			t.Errorf("payload %v, want %v", sent.Payload, wantPayload)
		}
		if len(sent.Tries) != 3 {
			t.Fatalf("tries %+v, want 3", sent.Tries)
		}
		drop, busy, ok := sent.Tries[0], sent.Tries[1], sent.Tries[2]
		if drop.HTTPStatus != nil || drop.Error == nil || *drop.Error == "" {
			t.Errorf("try 1 (connection dropped): %+v, want an error and no status", drop)
		}
		if deref(busy.HTTPStatus) != 503 || busy.Error != nil || !strings.Contains(busy.Response, "busy") {
			t.Errorf("try 2 (503): %+v", busy)
		}
		if deref(ok.HTTPStatus) != 200 || ok.Error != nil || !strings.Contains(ok.Response, "requestId") {
			t.Errorf("try 3 (200): %+v", ok)
		}
		if !drop.At.Before(busy.At) || !busy.At.Before(ok.At) || ok.DurationMS < 0 {
			t.Errorf("tries out of order: %+v", sent.Tries)
		}
	})

	t.Run("explain prints the timeline and the reasons", func(t *testing.T) {
		e := e.on(t)
		out, errOut, code := e.cli("explain", o)
		if code != 0 {
			t.Fatalf("ctjournal explain %s: exit %d\n%s%s", o, code, out, errOut)
		}
		// Everything the audit says in words is in the timeline too.
		wants := []string{o, w, "call.ordered", "call.dialed", "call.failed", "call.answered"}
		x := e.mustOrder(o)
		for _, ev := range x.Events {
			if ev.Note != nil {
				wants = append(wants, *ev.Note)
			}
		}
		for _, d := range x.Decisions {
			wants = append(wants, d.Reason)
			wants = append(wants, d.Warnings...)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("ctjournal explain does not mention %q:\n%s", want, out)
			}
		}
		if strings.Contains(out+errOut, testToken) {
			t.Errorf("ctjournal explain shows the token")
		}
	})

	t.Run("explain --json is the HTTP answer", func(t *testing.T) {
		e := e.on(t)
		out, errOut, code := e.cli("explain", "--json", o)
		if code != 0 {
			t.Fatalf("ctjournal explain --json: exit %d\n%s%s", code, out, errOut)
		}
		var fromCLI map[string]any
		if err := json.Unmarshal([]byte(out), &fromCLI); err != nil {
			t.Fatalf("ctjournal explain --json printed no JSON: %v\n%s", err, out)
		}
		_, body := e.do(http.MethodGet, "/v1/orders/"+o, "", nil)
		var fromHTTP map[string]any
		if err := json.Unmarshal(body, &fromHTTP); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromCLI, fromHTTP) {
			t.Errorf("explain --json differs from GET /v1/orders:\n cli %s\nhttp %s", out, body)
		}
	})

	t.Run("explain of an unknown order fails", func(t *testing.T) {
		e := e.on(t)
		out, errOut, code := e.cli("explain", "expl-nobody")
		if code == 0 || !strings.Contains(errOut, "expl-nobody") {
			t.Errorf("ctjournal explain expl-nobody: exit %d, stdout %q, stderr %q; want a failure naming the order", code, out, errOut)
		}
	})

	t.Run("the token never comes back", func(t *testing.T) {
		e := e.on(t)
		if strings.Contains(e.responses(), testToken) {
			t.Errorf("a response body contains the token")
		}
		if strings.Contains(e.logs(), testToken) {
			t.Errorf("serve's log contains the token")
		}
	})
}

// checkExplanationShape checks every field docs/api.md lists, with its JSON type.
func checkExplanationShape(t *testing.T, x map[string]any, orderID, widgetID string) {
	t.Helper()
	if x["order_id"] != orderID || x["widget_id"] != widgetID || x["policy_version"] != 1.0 {
		t.Errorf("order_id, widget_id, policy_version = %v, %v, %v", x["order_id"], x["widget_id"], x["policy_version"])
	}
	events, _ := x["events"].([]any)
	if len(events) == 0 {
		t.Fatalf("events = %v", x["events"])
	}
	lastPosition := 0.0
	for i, raw := range events {
		ev, _ := raw.(map[string]any)
		what := fmt.Sprintf("events[%d]", i)
		wantKinds(t, what, ev, map[string]string{
			"position": "number", "event_id": "string", "type": "string", "attempt": "number|null",
			"occurred_at": "time", "recorded_at": "time", "note": "string|null",
		})
		if pos, _ := ev["position"].(float64); pos <= lastPosition {
			t.Errorf("%s: position %v after %v, want increasing", what, ev["position"], lastPosition)
		} else {
			lastPosition = pos
		}
		if ev["type"] == "call.ordered" && ev["attempt"] != nil {
			t.Errorf("%s: call.ordered with attempt %v, want null", what, ev["attempt"])
		}
	}
	decisions, _ := x["decisions"].([]any)
	if len(decisions) == 0 {
		t.Fatalf("decisions = %v", x["decisions"])
	}
	for i, raw := range decisions {
		d, _ := raw.(map[string]any)
		what := fmt.Sprintf("decisions[%d]", i)
		wantKinds(t, what, d, map[string]string{
			"attempt": "number|null", "decision": "string", "reason": "string", "warnings": "array",
			"policy_version": "number|null", "decided_at": "time", "status": "string",
		})
		if d["decision"] != "send" {
			continue
		}
		wantKinds(t, what, d, map[string]string{"key": "string", "payload": "object", "tries": "array"})
		tries, _ := d["tries"].([]any)
		for j, rawTry := range tries {
			tr, _ := rawTry.(map[string]any)
			wantKinds(t, fmt.Sprintf("%s.tries[%d]", what, j), tr, map[string]string{
				"at": "time", "duration_ms": "number", "http_status": "number|null", "response": "string",
				"error": "string|null",
			})
		}
	}
}

// wantKinds checks that each key is present with a value of the JSON kind
// given ("time" is an RFC 3339 string; "a|b" allows either).
func wantKinds(t *testing.T, what string, m map[string]any, kinds map[string]string) {
	t.Helper()
	for key, kind := range kinds {
		v, present := m[key]
		if !present {
			t.Errorf("%s: no %q in %v", what, key, m)
			continue
		}
		if !slices.Contains(strings.Split(kind, "|"), jsonKind(v)) {
			t.Errorf("%s: %s = %#v, want %s", what, key, v, kind)
		}
	}
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return "time"
		}
		return "string"
	}
	return fmt.Sprintf("%T", v)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestLeadsListing checks GET /v1/leads: filters, order, paging, errors,
// and /metrics counting the events.
func TestLeadsListing(t *testing.T) {
	t.Parallel()
	e := startEngine(t)
	ok, refusing, failing := e.fake, e.newFake(t), e.newFake(t)
	refusing.SetDefault(calltouchfake.Status(http.StatusBadRequest, `{"error": "bad site"}`))
	failing.SetDefault(calltouchfake.Status(http.StatusServiceUnavailable, `{"error": "down"}`))
	e.putPolicy("ll-ok", policyFor(ok, nil))
	e.putPolicy("ll-refused", policyFor(refusing, nil))
	e.putPolicy("ll-failing", policyFor(failing, nil))
	e.putPolicy("ll-last", policyFor(ok, map[string]any{"only_last_attempt": true}))

	// Several batches, so that some leads share a decided_at and some don't.
	e.mustPost(ordered("ll-ok-0", "ll-ok", nil), failed("ll-ok-0", "ll-ok", 1, ""))
	for i := 1; i < 5; i++ {
		o := fmt.Sprintf("ll-ok-%d", i)
		e.mustPost(ordered(o, "ll-ok", nil), answered(o, "ll-ok", 1))
	}
	e.mustPost(answered("ll-ok-0", "ll-ok", 2))
	e.mustPost(ordered("ll-ref-0", "ll-refused", nil), answered("ll-ref-0", "ll-refused", 1),
		ordered("ll-ref-1", "ll-refused", nil), answered("ll-ref-1", "ll-refused", 1))
	e.mustPost(ordered("ll-fail-0", "ll-failing", nil), answered("ll-fail-0", "ll-failing", 1))
	e.mustPost(ordered("ll-last-0", "ll-last", nil), failed("ll-last-0", "ll-last", 1, ""))
	e.mustPost(ordered("ll-none-0", "ll-none", nil), answered("ll-none-0", "ll-none", 1))
	e.mustPost(ordered("ll-none-1", "ll-none", nil), answered("ll-none-1", "ll-none", 1))
	wantCount := map[string]int{"delivered": 6, "failed": 2, "pending": 1, "waiting": 1, "skipped": 2}
	for i := range 5 {
		e.waitForStatus(fmt.Sprintf("ll-ok-%d", i), 1, "delivered")
	}
	e.waitForStatus("ll-ok-0", 2, "delivered")
	e.waitForStatus("ll-ref-0", 1, "failed")
	e.waitForStatus("ll-ref-1", 1, "failed")
	e.waitForStatus("ll-fail-0", 1, "pending")
	e.waitForStatus("ll-last-0", 1, "waiting")
	e.waitForStatus("ll-none-0", 1, "skipped")
	e.waitForStatus("ll-none-1", 1, "skipped")

	all := e.leads("limit=1000").Leads
	if len(all) != 12 {
		t.Fatalf("GET /v1/leads: %d leads, want 12: %+v", len(all), all)
	}
	id := func(l lead) string { return fmt.Sprintf("%s/%v", l.OrderID, deref(l.Attempt)) }

	t.Run("newest first, with every field", func(t *testing.T) {
		for i, l := range all {
			if i > 0 && l.DecidedAt.After(all[i-1].DecidedAt) {
				t.Errorf("lead %d (%s) decided at %s after the one before it (%s)", i, id(l), l.DecidedAt, all[i-1].DecidedAt)
			}
			if l.WidgetID == "" || l.Decision == "" || l.Reason == "" || l.DecidedAt.IsZero() || l.Attempt == nil {
				t.Errorf("lead %+v lacks a field", l)
			}
			if (l.Status == "delivered") != (l.DeliveredAt != nil) {
				t.Errorf("lead %s: status %s with delivered_at %v", id(l), l.Status, deref(l.DeliveredAt))
			}
			if (l.Decision == "send") != (l.Key != nil) {
				t.Errorf("lead %s: decision %s with key %v", id(l), l.Decision, deref(l.Key))
			}
		}
	})

	t.Run("filter by widget and status", func(t *testing.T) {
		e := e.on(t)
		for status, n := range wantCount {
			got := e.leads("status=" + status).Leads
			if len(got) != n {
				t.Errorf("status=%s: %d leads, want %d", status, len(got), n)
			}
			for _, l := range got {
				if l.Status != status {
					t.Errorf("status=%s: lead %s has status %s", status, id(l), l.Status)
				}
			}
		}
		got := e.leads("widget_id=ll-refused").Leads
		if len(got) != 2 || got[0].WidgetID != "ll-refused" || got[1].WidgetID != "ll-refused" {
			t.Errorf("widget_id=ll-refused: %+v", got)
		}
		if got := e.leads("widget_id=ll-ok&status=delivered").Leads; len(got) != 6 {
			t.Errorf("widget_id=ll-ok&status=delivered: %d leads, want 6", len(got))
		}
		if got := e.leads("widget_id=ll-ok&status=skipped").Leads; len(got) != 0 {
			t.Errorf("widget_id=ll-ok&status=skipped: %+v, want none", got)
		}
		if got := e.leads("widget_id=ll-nobody").Leads; len(got) != 0 {
			t.Errorf("widget_id=ll-nobody: %+v, want none", got)
		}
	})

	t.Run("since and until compare decided_at", func(t *testing.T) {
		e := e.on(t)
		oldest, newest := all[len(all)-1].DecidedAt, all[0].DecidedAt
		if !newest.After(oldest) {
			t.Fatalf("every lead was decided at %s; cannot test since/until", oldest)
		}
		mid := oldest.Add(newest.Sub(oldest) / 2)
		for _, c := range []struct {
			query string
			in    func(time.Time) bool
		}{
			{"since=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), func(at time.Time) bool { return !at.Before(mid) }},
			{"until=" + url.QueryEscape(mid.Format(time.RFC3339Nano)), func(at time.Time) bool { return !at.After(mid) }},
			{"since=" + url.QueryEscape(mid.In(time.FixedZone("MSK", 3*3600)).Format(time.RFC3339Nano)),
				func(at time.Time) bool { return !at.Before(mid) }},
			{"since=" + url.QueryEscape(newest.Add(time.Second).Format(time.RFC3339Nano)), func(time.Time) bool { return false }},
			{"since=" + url.QueryEscape(oldest.Add(-time.Second).Format(time.RFC3339)) + "&until=" +
				url.QueryEscape(newest.Add(time.Second).Format(time.RFC3339)), func(time.Time) bool { return true }},
		} {
			var want []string
			for _, l := range all {
				if c.in(l.DecidedAt) {
					want = append(want, id(l))
				}
			}
			var got []string
			for _, l := range e.leads(c.query + "&limit=1000").Leads {
				got = append(got, id(l))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: leads %q, want %q", c.query, got, want)
			}
		}
	})

	t.Run("the cursor pages through every lead once", func(t *testing.T) {
		e := e.on(t)
		for _, c := range []struct {
			query string
			want  []lead
		}{
			{"limit=1", all},
			{"limit=2", all},
			{"limit=5", all},
			{"limit=12", all},
			{"status=delivered&limit=4", filterLeads(all, "delivered")},
		} {
			var got []lead
			query := c.query
			for page := 0; ; page++ {
				if page > len(all)+1 {
					t.Fatalf("%s: more pages than leads", c.query)
				}
				p := e.leads(query)
				got = append(got, p.Leads...)
				if p.NextCursor == nil {
					break
				}
				if len(p.Leads) == 0 {
					t.Fatalf("%s: an empty page with a next cursor", c.query)
				}
				query = c.query + "&cursor=" + url.QueryEscape(*p.NextCursor)
			}
			var gotIDs, wantIDs []string
			for _, l := range got {
				gotIDs = append(gotIDs, id(l))
			}
			for _, l := range c.want {
				wantIDs = append(wantIDs, id(l))
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("%s: paged through %q, want %q (in the unpaged order)", c.query, gotIDs, wantIDs)
			}
		}
	})

	t.Run("the default limit is 100", func(t *testing.T) {
		e := e.on(t)
		if p := e.leads(""); len(p.Leads) != 12 || p.NextCursor != nil {
			t.Errorf("no limit: %d leads, next_cursor %v; want 12 and null", len(p.Leads), deref(p.NextCursor))
		}
	})

	t.Run("a bad filter is 400 naming it", func(t *testing.T) {
		e := e.on(t)
		for query, field := range map[string]string{
			"status=sent": "status", "limit=0": "limit", "limit=1001": "limit", "limit=ten": "limit",
			"since=yesterday": "since", "until=2026-13-01": "until", "cursor=not-a-cursor": "cursor",
		} {
			status, body := e.do(http.MethodGet, "/v1/leads?"+query, "", nil)
			got := decodeObject(t, query, body)
			if status != http.StatusBadRequest || got["field"] != field {
				t.Errorf("GET /v1/leads?%s: %d %s, want 400 with field %q", query, status, body, field)
			}
		}
		if status, body := e.do(http.MethodGet, "/v1/leads?limit=1000", "", nil); status != http.StatusOK {
			t.Errorf("limit=1000: %d %s, want 200", status, body)
		}
	})

	t.Run("metrics count the ingested events", func(t *testing.T) {
		e := e.on(t)
		status, body := e.do(http.MethodGet, "/metrics", "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics: %d", status)
		}
		m := regexp.MustCompile(`(?m)^ctj_events_ingested_total(?:\{[^}]*\})? (\S+)$`).FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("/metrics has no ctj_events_ingested_total:\n%s", body)
		}
		if n, err := strconv.ParseFloat(m[1], 64); err != nil || n != 23 {
			t.Errorf("ctj_events_ingested_total = %s, want 23 (the events posted)", m[1])
		}
	})
}

func filterLeads(all []lead, status string) []lead {
	var out []lead
	for _, l := range all {
		if l.Status == status {
			out = append(out, l)
		}
	}
	return out
}
