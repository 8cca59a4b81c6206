package tests

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// warnNoSession is the warning docs/rules.md gives a lead sent without sessionId.
const warnNoSession = "no Calltouch session id: the traffic source will be unknown"

// registerPath is where every lead of a policy with site_id 12345 goes.
const registerPath = "/calls-service/RestAPI/requests/12345/register/"

// step is one thing a row does, in arrival order: post an event, or put
// the widget's policy; check, when set, runs after it.
type step struct {
	event  func(order, widget string) event
	policy map[string]any // overrides of policyFor
	check  func(e *engine, fake *calltouchfake.Server, order, widget string)
}

func orderedStep(data map[string]any) step {
	return step{event: func(o, w string) event { return ordered(o, w, data) }}
}

func dialedStep(n int) step {
	return step{event: func(o, w string) event { return dialed(o, w, n) }}
}

func answeredStep(n int, talkSeconds ...int) step {
	return step{event: func(o, w string) event {
		ev := answered(o, w, n)
		if len(talkSeconds) > 0 {
			ev = ev.withData("talk_seconds", talkSeconds[0])
		}
		return ev
	}}
}

func failedStep(n int, reason string) step {
	return step{event: func(o, w string) event { return failed(o, w, n, reason) }}
}

func lastAttemptStep(n int) step {
	return step{event: func(o, w string) event { return lastAttempt(o, w, n) }}
}

func policyStep(overrides map[string]any) step { return step{policy: overrides} }

// waits checks that the decision on attempt waits for the reason and that
// nothing was sent yet.
func waits(attempt int, reason string) step {
	return step{check: func(e *engine, fake *calltouchfake.Server, o, _ string) {
		e.t.Helper()
		d := e.waitForStatus(o, attempt, "waiting")
		if d.Decision != "wait" || d.Reason != reason {
			e.t.Errorf("decision %s, want wait %q", d, reason)
		}
		if n := fake.Count(); n != 0 {
			e.t.Errorf("while waiting: Calltouch got %d requests, want 0", n)
		}
	}}
}

// waitsForOrder checks that outcome facts without call.ordered wait and
// send nothing (rule 3).
func waitsForOrder(attempt int) step { return waits(attempt, "waiting for call.ordered") }

// nothingDecidedYet checks that the order is known and has no decision.
func nothingDecidedYet(events int) step {
	return step{check: func(e *engine, fake *calltouchfake.Server, o, _ string) {
		x := e.waitForEvents(o, events)
		if len(x.Decisions) != 0 {
			e.t.Errorf("before the call: decisions %v, want none", x.Decisions)
		}
	}}
}

// wantDecision is one expected decision. Keys are written with "o" for the
// row's order id ("o", "o~2"); reasons with {w} for its widget id; an empty
// reason accepts any non-empty one.
type wantDecision struct {
	attempt       int // 0: taken at order time
	decision      string
	key           string
	status        string
	reason        string
	policyVersion int // 0: none
	warnings      []string
}

// wantRequest is one expected request to Calltouch.
type wantRequest struct {
	key         string // as in wantDecision
	phone       string // default wantPhone
	comment     string // default "CallKeeper"
	noSession   bool   // sessionId left out; otherwise "sess-" + order id
	subject     string
	requestDate string
}

type exampleRow struct {
	name   string
	policy map[string]any // overrides of policyFor; nil: no policy at first
	steps  []step
	want   []wantDecision
	sent   []wantRequest
	notes  map[int]string // event index (0-based, arrival order) → substring of its note
}

func send(attempt int, key, reason string) wantDecision {
	return wantDecision{attempt: attempt, decision: "send", key: key, status: "delivered", reason: reason, policyVersion: 1}
}

func skip(attempt int, reason string) wantDecision {
	return wantDecision{attempt: attempt, decision: "skip", status: "skipped", reason: reason, policyVersion: 1}
}

// details is the comment of a policy with comment_details for a callback
// order: "CallKeeper" and the given lines.
func details(lines ...string) string {
	return strings.Join(append([]string{"CallKeeper", "Тип: обратный звонок"}, lines...), "\n")
}

// tomorrowAt10 is tomorrow 10:00 Moscow time, as RFC 3339 and as the
// details block shows it.
func tomorrowAt10() (rfc3339, shown string) {
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Now().In(msk)
	at := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 0, 0, 0, msk)
	return at.Format(time.RFC3339), at.Format("02.01.2006 15:04")
}

// TestExamples runs every row of docs/rules.md's Examples table through the
// binary: the facts in arrival order as separate requests, then exactly
// which requests Calltouch got and every decision with its reason.
func TestExamples(t *testing.T) {
	t.Parallel()
	examples(t, sharedEngine(t))
}

// examples runs the checks on base, an engine on either store.
func examples(t *testing.T, base *engine) {
	scheduled, scheduledShown := tomorrowAt10()
	fiveFacts := []step{orderedStep(nil), dialedStep(1), failedStep(1, "no_answer"), dialedStep(2), answeredStep(2, 42)}

	rows := []exampleRow{
		{
			name:   "no filter: every finished attempt is a lead",
			policy: map[string]any{"comment_details": true},
			steps: []step{
				orderedStep(map[string]any{"details": map[string]any{"page": "/contacts", "city": "Москва"}}),
				dialedStep(1), failedStep(1, "no_answer"), dialedStep(2), answeredStep(2, 42),
			},
			want: []wantDecision{send(1, "o~1", ""), send(2, "o~2", "")},
			sent: []wantRequest{
				{key: "o~1", comment: details("Попытка: 1", "Результат: не состоялся (no_answer)", "city: Москва", "page: /contacts")},
				{key: "o~2", comment: details("Попытка: 2", "Результат: состоялся", "Разговор: 42 с", "city: Москва", "page: /contacts")},
			},
		},
		{
			name:   "only_successful: the answered attempt is the one lead",
			policy: map[string]any{"only_successful": true, "send_form_name": true, "send_order_date": true},
			steps: append([]step{{event: func(o, w string) event {
				return ordered(o, w, map[string]any{"form_name": "Заказ звонка"}).with("occurred_at", "2026-11-24T07:15:00Z")
			}}}, fiveFacts[1:]...),
			want: []wantDecision{skip(1, "attempt 1 failed; only successful calls are sent"), send(2, "o", "")},
			sent: []wantRequest{{key: "o", subject: "Заказ звонка", requestDate: "24-11-2026 10:15:00"}},
		},
		{
			name:   "only_last_attempt: a non-final attempt is skipped",
			policy: map[string]any{"only_last_attempt": true},
			steps:  fiveFacts,
			want:   []wantDecision{skip(1, "attempt 1 is not the last attempt"), send(2, "o", "")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "only_last_attempt: a failed last attempt is sent",
			policy: map[string]any{"only_last_attempt": true, "comment_details": true},
			steps:  []step{orderedStep(nil), failedStep(1, "no_answer"), failedStep(2, "busy"), lastAttemptStep(2)},
			want:   []wantDecision{skip(1, "attempt 1 is not the last attempt"), send(2, "o", "")},
			sent:   []wantRequest{{key: "o", comment: details("Попытка: 2", "Результат: не состоялся (busy)")}},
		},
		{
			name:   "both filters: a failed last attempt is skipped",
			policy: map[string]any{"only_last_attempt": true, "only_successful": true},
			steps:  []step{orderedStep(nil), failedStep(1, "no_answer"), failedStep(2, "busy"), lastAttemptStep(2)},
			want: []wantDecision{
				skip(1, "attempt 1 is not the last attempt"),
				skip(2, "last attempt 2 failed; only successful calls are sent"),
			},
		},
		{
			name:   "only_last_attempt: a failed attempt of unknown finality waits",
			policy: map[string]any{"only_last_attempt": true},
			steps:  []step{orderedStep(nil), failedStep(1, "no_answer")},
			want: []wantDecision{{attempt: 1, decision: "wait", status: "waiting", policyVersion: 1,
				reason: "waiting to learn whether attempt 1 is the last"}},
		},
		{
			name:   "only_last_attempt: outcome before the order is sent once it arrives",
			policy: map[string]any{"only_last_attempt": true},
			steps:  []step{lastAttemptStep(1), failedStep(1, "no_answer"), waitsForOrder(1), orderedStep(nil)},
			want:   []wantDecision{send(1, "o", "")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "no filter: an answer before the order is sent once it arrives",
			policy: map[string]any{},
			steps:  []step{answeredStep(1), waitsForOrder(1), orderedStep(nil)},
			want:   []wantDecision{send(1, "o~1", "")},
			sent:   []wantRequest{{key: "o~1"}},
		},
		{
			name:   "before_call: a deferred order is sent at once without an outcome",
			policy: map[string]any{"hook": "before_call", "comment_details": true},
			steps:  []step{orderedStep(map[string]any{"scheduled_at": scheduled})},
			want:   []wantDecision{send(0, "o", "")},
			sent:   []wantRequest{{key: "o", comment: details("Отложен на: " + scheduledShown)}},
		},
		{
			name:   "after_call: a deferred order is sent after its call",
			policy: map[string]any{"hook": "after_call", "comment_details": true},
			steps: []step{
				orderedStep(map[string]any{"scheduled_at": scheduled}), nothingDecidedYet(1),
				answeredStep(1),
			},
			want: []wantDecision{send(1, "o~1", "")},
			sent: []wantRequest{{key: "o~1", comment: details("Отложен на: "+scheduledShown, "Попытка: 1", "Результат: состоялся")}},
		},
		{
			name:   "before_call: an order that is not deferred is sent after its call",
			policy: map[string]any{"hook": "before_call"},
			steps:  []step{orderedStep(nil), nothingDecidedYet(1), answeredStep(1)},
			want:   []wantDecision{send(1, "o~1", "")},
			sent:   []wantRequest{{key: "o~1"}},
		},
		{
			name:   "tap2call off: a tap-to-call order is skipped",
			policy: map[string]any{"tap2call": false},
			steps: []step{
				orderedStep(map[string]any{"kind": "tap2call", "client_phone": nil, "manager_phone": "+7 495 123-45-67"}),
				answeredStep(1),
			},
			want: []wantDecision{skip(1, "tap-to-call integration is off")},
		},
		{
			name:   "no session id: sent without sessionId, with the warning",
			policy: map[string]any{},
			steps:  []step{orderedStep(map[string]any{"calltouch_session_id": nil}), answeredStep(1)},
			want: []wantDecision{{attempt: 1, decision: "send", key: "o~1", status: "delivered", policyVersion: 1,
				warnings: []string{warnNoSession}}},
			sent: []wantRequest{{key: "o~1", noSession: true}},
		},
		{
			name:   "the order keeps the policy it was placed under",
			policy: map[string]any{"only_successful": true},
			steps:  []step{orderedStep(nil), policyStep(map[string]any{}), answeredStep(1)},
			want:   []wantDecision{send(1, "o", "attempt 1 answered; only successful calls are sent")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "no integration when the order was placed: skipped even once enabled",
			policy: nil,
			steps:  []step{orderedStep(nil), policyStep(map[string]any{}), answeredStep(1)},
			want: []wantDecision{{attempt: 1, decision: "skip", status: "skipped",
				reason: "widget {w} had no enabled Calltouch integration when the order was placed"}},
		},
		{
			name:   "conflict: the first recorded outcome stands",
			policy: map[string]any{"comment_details": true},
			steps:  []step{orderedStep(nil), answeredStep(1), failedStep(1, "no_answer")},
			want:   []wantDecision{send(1, "o~1", "")},
			sent:   []wantRequest{{key: "o~1", comment: details("Попытка: 1", "Результат: состоялся")}},
			notes:  map[int]string{2: "conflict"},
		},
	}
	if len(rows) != 16 {
		t.Fatalf("the table has %d rows; docs/rules.md's Examples table has 16", len(rows))
	}

	for i, row := range rows {
		t.Run(fmt.Sprintf("%02d %s", i+1, row.name), func(t *testing.T) {
			t.Parallel()
			runExample(t, base.on(t), row, fmt.Sprintf("ex%02d-o", i+1), fmt.Sprintf("ex%02d-w", i+1))
		})
	}
}

func runExample(t *testing.T, e *engine, row exampleRow, o, w string) {
	fake := e.newFake(t)
	if row.policy != nil {
		e.putPolicy(w, policyFor(fake, row.policy))
	}
	var eventIDs []string
	for _, s := range row.steps {
		switch {
		case s.event != nil:
			ev := s.event(o, w)
			eventIDs = append(eventIDs, ev["event_id"].(string))
			e.mustPost(ev)
		case s.policy != nil:
			e.putPolicy(w, policyFor(fake, s.policy))
		}
		if s.check != nil {
			s.check(e, fake, o, w)
		}
	}

	e.waitForEvents(o, len(eventIDs))
	for _, d := range row.want {
		e.waitForStatus(o, d.attempt, d.status)
	}
	waitForRequests(t, fake, len(row.sent))
	time.Sleep(settle) // anything more would show up now
	x := e.mustOrder(o)

	var placedUnder any // the order keeps the version in force when it was placed
	if row.policy != nil {
		placedUnder = 1
	}
	if deref(x.PolicyVersion) != placedUnder {
		t.Errorf("order placed under policy version %v, want %v", deref(x.PolicyVersion), placedUnder)
	}
	checkDecisions(t, x, row.want, o, w)
	checkRequests(t, fake, x, row.sent, o)
	checkEvents(t, x, eventIDs, row.notes)
}

// expand writes the row's order and widget ids into a key or reason.
func expand(s, o, w string) string {
	if s == "o" || strings.HasPrefix(s, "o~") {
		s = o + strings.TrimPrefix(s, "o")
	}
	return strings.ReplaceAll(s, "{w}", w)
}

func checkDecisions(t *testing.T, x explanation, want []wantDecision, o, w string) {
	t.Helper()
	if len(x.Decisions) != len(want) {
		t.Errorf("%d decisions, want %d:\n%v", len(x.Decisions), len(want), x.Decisions)
	}
	for _, wd := range want {
		d, ok := x.decision(wd.attempt)
		if !ok {
			t.Errorf("no decision on attempt %d", wd.attempt)
			continue
		}
		wantAttempt := any(wd.attempt)
		if wd.attempt == 0 {
			wantAttempt = nil
		}
		var wantVersion any
		if wd.policyVersion != 0 {
			wantVersion = wd.policyVersion
		}
		var wantKey any
		if wd.key != "" {
			wantKey = expand(wd.key, o, w)
		}
		reason := expand(wd.reason, o, w)
		switch {
		case deref(d.Attempt) != wantAttempt, d.Decision != wd.decision, deref(d.Key) != wantKey,
			d.Status != wd.status, deref(d.PolicyVersion) != wantVersion,
			d.Reason == "", reason != "" && d.Reason != reason,
			!slices.Equal(d.Warnings, wd.warnings):
			t.Errorf("decision on attempt %d:\n got %s\nwant attempt=%v decision=%s key=%v status=%s policy_version=%v reason=%q warnings=%q",
				wd.attempt, d, wantAttempt, wd.decision, wantKey, wd.status, wantVersion, reason, wd.warnings)
		}
		if wd.decision == "send" {
			if len(d.Tries) != 1 || d.Tries[0].HTTPStatus == nil || *d.Tries[0].HTTPStatus != http.StatusOK {
				t.Errorf("lead %v: tries %+v, want one answered 200", wantKey, d.Tries)
			}
		} else if d.Payload != nil || len(d.Tries) != 0 {
			t.Errorf("a %s decision has payload %v and tries %v, want none", d.Decision, d.Payload, d.Tries)
		}
	}
}

// checkRequests compares what Calltouch got, lead by lead, with the rows'
// expectations and with the payloads the decisions stored.
func checkRequests(t *testing.T, fake *calltouchfake.Server, x explanation, want []wantRequest, o string) {
	t.Helper()
	got := fake.Requests()
	slices.SortStableFunc(got, func(a, b calltouchfake.Request) int {
		return strings.Compare(a.Form.Get("requestNumber"), b.Form.Get("requestNumber"))
	})
	if len(got) != len(want) {
		var keys []string
		for _, r := range got {
			keys = append(keys, r.Form.Get("requestNumber"))
		}
		t.Fatalf("Calltouch got %d requests %q, want %d", len(got), keys, len(want))
	}
	for i, wr := range want {
		key := expand(wr.key, o, "")
		fields := map[string]string{"phoneNumber": or(wr.phone, wantPhone), "requestNumber": key, "comment": or(wr.comment, "CallKeeper")}
		order := []string{"phoneNumber", "requestNumber", "comment"}
		if !wr.noSession {
			fields["sessionId"] = "sess-" + o
			order = append(order, "sessionId")
		}
		if wr.subject != "" {
			fields["subject"] = wr.subject
			order = append(order, "subject")
		}
		if wr.requestDate != "" {
			fields["requestDate"] = wr.requestDate
			order = append(order, "requestDate")
		}
		checkRequest(t, got[i], registerPath, fields, order)
		for _, d := range x.Decisions {
			if d.Key != nil && *d.Key == key && !maps.Equal(d.Payload, fields) {
				t.Errorf("lead %s: stored payload %v, want %v (what Calltouch must get)", key, d.Payload, fields)
			}
		}
	}
}

// checkRequest checks one request to Calltouch: method, path, headers, and
// exactly these form fields in this order.
func checkRequest(t *testing.T, r calltouchfake.Request, path string, fields map[string]string, order []string) {
	t.Helper()
	key := r.Form.Get("requestNumber")
	if r.Method != http.MethodPost || r.Path != path {
		t.Errorf("lead %s: %s %s, want POST %s", key, r.Method, r.Path, path)
	}
	if got := r.Header.Get("Access-Token"); got != testToken {
		t.Errorf("lead %s: Access-Token %q, want the policy's token", key, got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded; charset=utf-8" {
		t.Errorf("lead %s: Content-Type %q", key, got)
	}
	if got := r.Header.Get("User-Agent"); !strings.HasPrefix(got, "ctjournal/") {
		t.Errorf("lead %s: User-Agent %q, want ctjournal/{version}", key, got)
	}
	if !slices.Equal(r.FieldOrder, order) {
		t.Errorf("lead %s: fields %q, want %q", key, r.FieldOrder, order)
	}
	for name, want := range fields {
		if got := r.Form[name]; len(got) != 1 || got[0] != want {
			t.Errorf("lead %s: %s = %q, want %q", key, name, got, want)
		}
	}
}

func checkEvents(t *testing.T, x explanation, eventIDs []string, notes map[int]string) {
	t.Helper()
	var got []string
	for _, ev := range x.Events {
		got = append(got, ev.EventID)
	}
	if !slices.Equal(got, eventIDs) {
		t.Errorf("events %q, want in arrival order %q", got, eventIDs)
		return
	}
	for i, ev := range x.Events {
		want, noted := notes[i]
		switch {
		case noted && (ev.Note == nil || !strings.Contains(*ev.Note, want)):
			t.Errorf("event %d (%s): note %v, want one saying %q", i, ev.Type, deref(ev.Note), want)
		case !noted && ev.Note != nil:
			t.Errorf("event %d (%s): unexpected note %q", i, ev.Type, *ev.Note)
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestLeadContent checks what a lead carries beyond the Examples table:
// phone forms, tap-to-call, the comment and subject limits, the site id in
// the path, and the order date in Moscow time.
func TestLeadContent(t *testing.T) {
	t.Parallel()
	base := sharedEngine(t)
	long := strings.Repeat("я", 5000)
	cases := []struct {
		name    string
		policy  map[string]any
		order   map[string]any
		path    string
		check   func(t *testing.T, r calltouchfake.Request)
		at      string // occurred_at of call.ordered, when set
		comment string
	}{
		{name: "phone 8 (916) ...", order: map[string]any{"client_phone": "8 (916) 123-45-67"}, check: wantField("phoneNumber", wantPhone)},
		{name: "phone 9161234567", order: map[string]any{"client_phone": "9161234567"}, check: wantField("phoneNumber", wantPhone)},
		{name: "phone 79161234567", order: map[string]any{"client_phone": "79161234567"}, check: wantField("phoneNumber", wantPhone)},
		{name: "phone of another country", order: map[string]any{"client_phone": "+380 44 123 4567"}, check: wantField("phoneNumber", "380441234567")},
		{
			name:   "tap2call on sends the manager's phone",
			policy: map[string]any{"tap2call": true, "comment_details": true},
			order:  map[string]any{"kind": "tap2call", "client_phone": nil, "manager_phone": "8 (495) 123-45-67"},
			check: func(t *testing.T, r calltouchfake.Request) {
				wantField("phoneNumber", "74951234567")(t, r)
				wantField("comment", "CallKeeper\nТип: tap-to-call\nПопытка: 1\nРезультат: состоялся")(t, r)
			},
		},
		{
			name:   "a long comment is cut to 4000 code points with …",
			policy: map[string]any{"comment_details": true},
			order:  map[string]any{"details": map[string]any{"note": long}},
			check: func(t *testing.T, r calltouchfake.Request) {
				c := r.Form.Get("comment")
				prefix := "CallKeeper\nТип: обратный звонок\nПопытка: 1\nРезультат: состоялся\nnote: я"
				if utf8.RuneCountInString(c) != 4000 || !strings.HasSuffix(c, "я…") || !strings.HasPrefix(c, prefix) {
					t.Errorf("comment of %d code points, starting %q, ending %q; want 4000 ending with …",
						utf8.RuneCountInString(c), c[:min(len(c), 120)], c[max(0, len(c)-12):])
				}
			},
		},
		{
			name:   "a long form name is cut to 256 code points",
			policy: map[string]any{"send_form_name": true},
			order:  map[string]any{"form_name": strings.Repeat("ф", 300)},
			check:  wantField("subject", strings.Repeat("ф", 256)),
		},
		{
			name:   "a form name is left out without send_form_name",
			policy: map[string]any{"send_form_name": false},
			order:  map[string]any{"form_name": "Заказ"},
			check:  wantFieldOrder("phoneNumber", "requestNumber", "comment", "sessionId"),
		},
		{
			name:   "the order date is sent in Moscow time",
			policy: map[string]any{"send_order_date": true},
			at:     "2026-12-31T23:30:00+01:00",
			check:  wantField("requestDate", "01-01-2027 01:30:00"),
		},
		{
			name:   "the site id is path-escaped",
			policy: map[string]any{"site_id": "12 345"},
			path:   "/calls-service/RestAPI/requests/12%20345/register/",
			check:  func(t *testing.T, r calltouchfake.Request) {},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := base.on(t)
			fake := e.newFake(t)
			o, w := fmt.Sprintf("lc%02d-o", i), fmt.Sprintf("lc%02d-w", i)
			e.putPolicy(w, policyFor(fake, c.policy))
			ev := ordered(o, w, c.order)
			if c.at != "" {
				ev = ev.with("occurred_at", c.at)
			}
			e.mustPost(ev, answered(o, w, 1))
			e.waitForLead(o+"~1", "delivered")
			r := waitForRequests(t, fake, 1)[0]
			if got, want := r.Path, or(c.path, registerPath); got != want {
				t.Errorf("path %s, want %s", got, want)
			}
			if got := r.Form.Get("requestNumber"); got != o+"~1" {
				t.Errorf("requestNumber %q, want %q", got, o+"~1")
			}
			c.check(t, r)
		})
	}
}

func wantField(name, want string) func(t *testing.T, r calltouchfake.Request) {
	return func(t *testing.T, r calltouchfake.Request) {
		t.Helper()
		if got := r.Form[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func wantFieldOrder(names ...string) func(t *testing.T, r calltouchfake.Request) {
	return func(t *testing.T, r calltouchfake.Request) {
		t.Helper()
		if !slices.Equal(r.FieldOrder, names) {
			t.Errorf("fields %q, want %q", r.FieldOrder, names)
		}
	}
}

// TestMoreRules runs rules of docs/rules.md that the Examples table does not
// show, through the same machinery.
func TestMoreRules(t *testing.T) {
	t.Parallel()
	base := sharedEngine(t)
	scheduled, _ := tomorrowAt10()
	rows := []exampleRow{
		{
			name:   "only_successful: the second answered attempt in log order adds no lead, even a lower one",
			policy: map[string]any{"only_successful": true},
			steps:  []step{orderedStep(nil), answeredStep(2), answeredStep(1)},
			want:   []wantDecision{skip(1, "order already has a lead"), send(2, "o", "")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "only_successful: answers decided together at call.ordered give the lead to the lowest",
			policy: map[string]any{"only_successful": true},
			steps:  []step{answeredStep(2), answeredStep(1), waitsForOrder(1), orderedStep(nil)},
			want:   []wantDecision{send(1, "o", ""), skip(2, "order already has a lead")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "an answered attempt is final: later facts about a higher attempt are conflicts",
			policy: map[string]any{},
			steps:  []step{orderedStep(nil), answeredStep(1), dialedStep(2), failedStep(2, "busy")},
			want:   []wantDecision{send(1, "o~1", "")},
			sent:   []wantRequest{{key: "o~1"}},
			notes:  map[int]string{2: "conflict", 3: "conflict"},
		},
		{
			name:   "only_last_attempt: a last attempt below one already named is a conflict",
			policy: map[string]any{"only_last_attempt": true},
			steps:  []step{dialedStep(2), failedStep(1, "busy"), lastAttemptStep(1), orderedStep(nil)},
			want:   []wantDecision{skip(1, "attempt 1 is not the last attempt")},
			notes:  map[int]string{2: "conflict"},
		},
		{
			name:   "a disabled before_call policy skips each finished attempt of a deferred order",
			policy: map[string]any{"enabled": false, "hook": "before_call"},
			steps: []step{
				failedStep(1, "busy"), orderedStep(map[string]any{"scheduled_at": scheduled}), answeredStep(2),
			},
			want: []wantDecision{
				skip(1, "widget {w} had no enabled Calltouch integration when the order was placed"),
				skip(2, "widget {w} had no enabled Calltouch integration when the order was placed"),
			},
		},
		{
			name:   "before_call: each finished attempt of a deferred order is skipped, before the order or after; other facts are late",
			policy: map[string]any{"hook": "before_call"},
			steps: []step{
				failedStep(1, "busy"), orderedStep(map[string]any{"scheduled_at": scheduled}), dialedStep(2), answeredStep(2),
			},
			want: []wantDecision{
				send(0, "o", ""), skip(1, "order already has a lead"), skip(2, "order already has a lead"),
			},
			sent:  []wantRequest{{key: "o"}},
			notes: map[int]string{2: "late"},
		},
		{
			name:   "only_last_attempt: a wait is settled once the last attempt is known",
			policy: map[string]any{"only_last_attempt": true},
			steps: []step{
				orderedStep(nil), failedStep(1, "busy"), waits(1, "waiting to learn whether attempt 1 is the last"),
				lastAttemptStep(1),
			},
			want: []wantDecision{send(1, "o", "")},
			sent: []wantRequest{{key: "o"}},
		},
		{
			name:   "only_last_attempt: a wait is settled once a later attempt is known",
			policy: map[string]any{"only_last_attempt": true},
			steps: []step{
				orderedStep(nil), failedStep(1, "busy"), waits(1, "waiting to learn whether attempt 1 is the last"),
				dialedStep(2),
			},
			want: []wantDecision{skip(1, "attempt 1 is not the last attempt")},
		},
		{
			name:   "arrival order does not matter",
			policy: map[string]any{"only_last_attempt": true},
			steps:  []step{answeredStep(2), failedStep(1, "busy"), orderedStep(nil)},
			want:   []wantDecision{skip(1, "attempt 1 is not the last attempt"), send(2, "o", "")},
			sent:   []wantRequest{{key: "o"}},
		},
		{
			name:   "a second call.ordered is a conflict; the first stands",
			policy: map[string]any{},
			steps: []step{
				orderedStep(nil),
				orderedStep(map[string]any{"client_phone": "+7 903 000-00-00", "calltouch_session_id": "other"}),
				answeredStep(1),
			},
			want:  []wantDecision{send(1, "o~1", "")},
			sent:  []wantRequest{{key: "o~1"}},
			notes: map[int]string{1: "conflict"},
		},
		{
			name:   "a policy disabled when the order was placed skips it",
			policy: map[string]any{"enabled": false},
			steps:  []step{orderedStep(nil), answeredStep(1)},
			want: []wantDecision{{attempt: 1, decision: "skip", status: "skipped", policyVersion: 1,
				reason: "widget {w} had no enabled Calltouch integration when the order was placed"}},
		},
		{
			name:   "a failed attempt without a reason",
			policy: map[string]any{"comment_details": true},
			steps:  []step{orderedStep(nil), failedStep(1, "")},
			want:   []wantDecision{send(1, "o~1", "attempt 1 failed; every finished attempt is sent")},
			sent:   []wantRequest{{key: "o~1", comment: details("Попытка: 1", "Результат: не состоялся")}},
		},
		{
			name:   "a server with a trailing slash",
			policy: map[string]any{"server": "{fake}/"},
			steps:  []step{orderedStep(nil), answeredStep(1)},
			want:   []wantDecision{send(1, "o~1", "")},
			sent:   []wantRequest{{key: "o~1"}},
		},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			runExample(t, base.on(t), row, fmt.Sprintf("mr%02d-o", i+1), fmt.Sprintf("mr%02d-w", i+1))
		})
	}
}
