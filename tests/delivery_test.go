package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// deliveryCase starts one lead o~1 of widget w sending to fake.
func deliveryCase(e *harness.Engine, fake *calltouchfake.Server, o, w string) {
	e.T.Helper()
	e.PutPolicy(w, harness.PolicyFor(fake, nil))
	e.MustPost(harness.Ordered(o, w, nil), harness.Answered(o, w, 1))
}

func TestDelivery(t *testing.T) {
	t.Parallel()
	delivery(t, harness.Shared(t))
}

// delivery runs the checks on base, an engine on either store.
func delivery(t *testing.T, base *harness.Engine) {

	t.Run("5xx answers are retried until delivered", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.Status(503, `{"error": "one"}`), calltouchfake.Status(503, `{"error": "two"}`))
		deliveryCase(e, fake, "dl-5xx", "dl-5xx-w")

		d := e.WaitForLead("dl-5xx~1", "delivered")

		if got := harness.StatusesOf(d.Tries); !slices.Equal(got, []int{503, 503, 200}) {
			t.Errorf("tries %v, want 503, 503, 200", got)
		}
		reqs := harness.Settled(t, fake, 3)
		harness.SameBodies(t, reqs)
		if l := e.Leads("widget_id=dl-5xx-w").Leads; len(l) != 1 || l[0].Status != "delivered" || l[0].DeliveredAt == nil {
			t.Errorf("GET /v1/leads: %+v, want the lead delivered", l)
		}
	})

	t.Run("a dropped connection is retried", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.Drop())
		deliveryCase(e, fake, "dl-drop", "dl-drop-w")

		d := e.WaitForLead("dl-drop~1", "delivered")

		if len(d.Tries) != 2 || d.Tries[0].HTTPStatus != nil || d.Tries[0].Error == nil || harness.Deref0(d.Tries[1].HTTPStatus) != 200 {
			t.Errorf("tries %+v, want an error without status, then 200", d.Tries)
		}
		harness.SameBodies(t, harness.Settled(t, fake, 2))
	})

	t.Run("429 with Retry-After is honoured", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.RetryAfter(429, 1))
		deliveryCase(e, fake, "dl-429", "dl-429-w")

		d := e.WaitForLead("dl-429~1", "delivered")

		reqs := harness.Settled(t, fake, 2)
		if got := harness.StatusesOf(d.Tries); !slices.Equal(got, []int{429, 200}) {
			t.Fatalf("tries %v, want 429, 200", got)
		}
		// The engine's retry base is 50 ms: only Retry-After explains a second's wait.
		if gap := reqs[1].At.Sub(d.Tries[0].At); gap < time.Second {
			t.Errorf("the retry came %s after the try answered 429 with Retry-After: 1, want at least 1s", gap)
		}
	})

	t.Run("a 4xx answer fails the lead at once", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.Status(400, `{"error": "bad phone"}`))
		deliveryCase(e, fake, "dl-400", "dl-400-w")

		d := e.WaitForLead("dl-400~1", "failed")

		harness.Settled(t, fake, 1)
		if len(d.Tries) != 1 || harness.Deref0(d.Tries[0].HTTPStatus) != 400 || d.Tries[0].Response == "" {
			t.Errorf("tries %+v, want one 400 with its response recorded", d.Tries)
		}
		if l := e.Leads("widget_id=dl-400-w").Leads; len(l) != 1 || l[0].Status != "failed" || l[0].DeliveredAt != nil {
			t.Errorf("GET /v1/leads: %+v, want the lead failed", l)
		}
	})

	t.Run("redeliver sends a failed lead again with the same bytes", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.Status(422, `{"error": "site blocked"}`))
		deliveryCase(e, fake, "dl-redo", "dl-redo-w")
		e.WaitForLead("dl-redo~1", "failed")
		harness.Settled(t, fake, 1)

		status, got := e.DoJSON(http.MethodPost, "/v1/leads/dl-redo~1/redeliver", nil)
		if status != http.StatusAccepted {
			t.Fatalf("redeliver a failed lead: %d %v, want 202", status, got)
		}
		d := e.WaitForLead("dl-redo~1", "delivered")

		if got := harness.StatusesOf(d.Tries); !slices.Equal(got, []int{422, 200}) {
			t.Errorf("tries %v, want 422, 200", got)
		}
		reqs := harness.Settled(t, fake, 2)
		harness.SameBodies(t, reqs)
		if status, got := e.DoJSON(http.MethodPost, "/v1/leads/dl-redo~1/redeliver", nil); status != http.StatusConflict {
			t.Errorf("redeliver a delivered lead: %d %v, want 409", status, got)
		}
		if status, got := e.DoJSON(http.MethodPost, "/v1/leads/dl-nobody~1/redeliver", nil); status != http.StatusNotFound {
			t.Errorf("redeliver an unknown key: %d %v, want 404", status, got)
		}
		harness.Settled(t, fake, 2)
	})

	t.Run("ctjournal redeliver sends a failed lead again", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.Script(calltouchfake.Status(404, `{"error": "no such site"}`))
		deliveryCase(e, fake, "dl-cli", "dl-cli-w")
		e.WaitForLead("dl-cli~1", "failed")

		if out, errOut, code := e.CLI("redeliver", "dl-cli~1"); code != 0 {
			t.Fatalf("ctjournal redeliver dl-cli~1: exit %d\n%s%s", code, out, errOut)
		}
		e.WaitForLead("dl-cli~1", "delivered")
		harness.SameBodies(t, harness.Settled(t, fake, 2))

		if out, errOut, code := e.CLI("redeliver", "dl-cli~1"); code == 0 {
			t.Errorf("ctjournal redeliver of a delivered lead: exit 0, want a refusal\n%s%s", out, errOut)
		}
		if out, errOut, code := e.CLI("redeliver", "dl-nobody~1"); code == 0 {
			t.Errorf("ctjournal redeliver of an unknown key: exit 0, want a failure\n%s%s", out, errOut)
		}
		harness.Settled(t, fake, 2)
	})

	t.Run("redeliver refuses a pending lead", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.SetDefault(calltouchfake.Status(503, `{"error": "down"}`))
		deliveryCase(e, fake, "dl-pend", "dl-pend-w")
		harness.WaitForRequests(t, fake, 1)

		if status, got := e.DoJSON(http.MethodPost, "/v1/leads/dl-pend~1/redeliver", nil); status != http.StatusConflict {
			t.Errorf("redeliver a pending lead: %d %v, want 409", status, got)
		}
		fake.SetDefault(calltouchfake.OK())
		e.WaitForLead("dl-pend~1", "delivered")
	})

	t.Run("a rotated token reaches a pending lead", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.SetDefault(calltouchfake.Status(503, `{"error": "down"}`))
		deliveryCase(e, fake, "dl-rot", "dl-rot-w")
		harness.WaitForRequests(t, fake, 1)

		e.PutPolicy("dl-rot-w", harness.PolicyFor(fake, map[string]any{"token": harness.RotatedToken}))
		harness.Eventually(t, "a try with the rotated token", func() (bool, string) {
			reqs := fake.Requests()
			return slices.ContainsFunc(reqs, func(r calltouchfake.Request) bool { return r.Header.Get("Access-Token") == harness.RotatedToken }),
				"tokens so far: " + tokensOf(reqs)
		})
		fake.SetDefault(calltouchfake.OK())
		e.WaitForLead("dl-rot~1", "delivered")

		reqs := fake.Requests()
		first := slices.IndexFunc(reqs, func(r calltouchfake.Request) bool { return r.Header.Get("Access-Token") == harness.RotatedToken })
		for i, r := range reqs[first:] {
			if r.Header.Get("Access-Token") != harness.RotatedToken {
				t.Errorf("try %d went out with the old token after the rotation", first+i+1)
			}
		}
		if last := reqs[len(reqs)-1]; last.Status != 200 || last.Header.Get("Access-Token") != harness.RotatedToken {
			t.Errorf("the delivering try: status %d, token %q; want 200 with the rotated token", last.Status, last.Header.Get("Access-Token"))
		}
		harness.SameBodies(t, reqs)
		if l := e.Logs() + e.Responses(); strings.Contains(l, harness.RotatedToken) || strings.Contains(l, harness.TestToken) {
			t.Errorf("a token appears in serve's log or in an API answer")
		}
	})

	t.Run("a lead decided send is delivered after the integration is disabled", func(t *testing.T) {
		t.Parallel()
		e, fake := base.On(t), base.NewFake(t)
		fake.SetDefault(calltouchfake.Status(503, `{"error": "down"}`))
		deliveryCase(e, fake, "dl-off", "dl-off-w")
		harness.WaitForRequests(t, fake, 1)

		if status, got := e.DoJSON(http.MethodDelete, "/v1/widgets/dl-off-w/calltouch", nil); status != http.StatusOK {
			t.Fatalf("DELETE policy: %d %v", status, got)
		}
		fake.SetDefault(calltouchfake.OK())

		e.WaitForLead("dl-off~1", "delivered")
	})
}

// tokensOf lists the distinct Access-Token headers in arrival order.
func tokensOf(reqs []calltouchfake.Request) string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Header.Get("Access-Token"))
	}
	return strings.Join(slices.Compact(out), ", ")
}

// TestDelivery_TimeoutIsTransient: a Calltouch that does not answer within
// CTJ_CALLTOUCH_TIMEOUT is retried.
func TestDelivery_TimeoutIsTransient(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_TIMEOUT", "500ms"))
	e.Fake.Script(calltouchfake.Hang())
	deliveryCase(e, e.Fake, "dl-hang", "dl-hang-w")

	d := e.WaitForLead("dl-hang~1", "delivered")

	tries := d.Tries
	if len(tries) < 2 || tries[0].HTTPStatus != nil || tries[0].Error == nil || harness.Deref0(tries[len(tries)-1].HTTPStatus) != 200 {
		t.Errorf("tries %+v, want a timeout without status first, 200 last", d.Tries)
	}
	reqs := harness.Settled(t, e.Fake, len(tries))
	harness.SameBodies(t, reqs)
	if reqs[0].Answered {
		t.Errorf("the first request was answered; the fake should have hung")
	}
}

// TestDelivery_GivesUp: a lead not delivered CTJ_GIVE_UP_AFTER after its
// decision fails, and is then tried no more; redeliver revives it.
func TestDelivery_GivesUp(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.WithEnv("CTJ_GIVE_UP_AFTER", "2s"))
	e.Fake.SetDefault(calltouchfake.Status(503, `{"error": "down"}`))
	deliveryCase(e, e.Fake, "dl-giveup", "dl-giveup-w")

	d := e.WaitForLead("dl-giveup~1", "failed")

	n := e.Fake.Count()
	harness.Settled(t, e.Fake, n)
	// How many tries fit in 2 s depends on the machine's load; each one
	// must be a recorded 503.
	if got := harness.StatusesOf(d.Tries); len(got) != n || slices.ContainsFunc(got, func(s int) bool { return s != 503 }) {
		t.Errorf("tries %v, want one 503 per request Calltouch got (%d)", got, n)
	}
	if len(d.History) != 1 || d.History[0].Event != "given_up" {
		t.Errorf("history %+v, want one given_up", d.History)
	}
	if l := e.Leads("status=failed").Leads; len(l) != 1 || l[0].OrderID != "dl-giveup" {
		t.Errorf("GET /v1/leads?status=failed: %+v, want the given-up lead", l)
	}

	e.Fake.SetDefault(calltouchfake.OK())
	if status, got := e.DoJSON(http.MethodPost, "/v1/leads/dl-giveup~1/redeliver", nil); status != http.StatusAccepted {
		t.Fatalf("redeliver a given-up lead: %d %v, want 202", status, got)
	}
	e.WaitForLead("dl-giveup~1", "delivered")
	reqs := harness.Settled(t, e.Fake, n+1)
	harness.SameBodies(t, reqs)
}

// TestDelivery_SurvivesRestart: retries are scheduled from the log, so a
// lead pending behind failures when serve stops is delivered once it runs
// again; the try in flight at SIGTERM is finished and recorded.
func TestDelivery_SurvivesRestart(t *testing.T) {
	t.Parallel()
	e := harness.Start(t)
	e.Fake.SetDefault(calltouchfake.Status(503, `{"error": "down"}`))
	deliveryCase(e, e.Fake, "dl-restart", "dl-restart-w")
	e.WaitForRequests(2)
	e.Fake.Script(calltouchfake.Hang()) // the next try is in flight when serve stops
	harness.Eventually(t, "a try in flight", func() (bool, string) {
		reqs := e.Fake.Requests()
		return !reqs[len(reqs)-1].Answered, fmt.Sprintf("%d requests, all answered", len(reqs))
	})

	e.Restart()
	e.Fake.SetDefault(calltouchfake.OK())

	d := e.WaitForLead("dl-restart~1", "delivered")
	reqs := harness.Settled(t, e.Fake, len(d.Tries))
	harness.SameBodies(t, reqs)
	delivered := 0
	for _, r := range reqs {
		if r.Status == 200 {
			delivered++
		}
	}
	if delivered != 1 {
		t.Errorf("Calltouch accepted the lead %d times, want once", delivered)
	}
	if got := harness.StatusesOf(d.Tries); len(got) < 3 || got[len(got)-1] != 200 {
		t.Errorf("tries %v, want 503s then 200", got)
	}
}

// TestDelivery_PostgresTwoServesSendEachLeadOnce: several serve processes on one
// database share the work, and Calltouch still accepts every lead once.
func TestDelivery_PostgresTwoServesSendEachLeadOnce(t *testing.T) {
	t.Parallel()
	first := harness.Start(t)
	second := first.Another(t)
	first.Fake.FailRate(30, 7) // retries make the two race for the same leads
	first.PutPolicy("two-w", harness.PolicyFor(first.Fake, nil))

	const orders = 24
	postLeadsTurnAbout(orders, "two", "two-w", first, second)
	harness.Eventually(t, fmt.Sprintf("%d leads delivered", orders), func() (bool, string) {
		n := len(first.Leads("status=delivered&limit=1000").Leads)
		return n == orders, fmt.Sprintf("%d delivered", n)
	})
	time.Sleep(harness.Settle)

	accepted := map[string]int{}
	tried := map[string]int{}
	for _, r := range first.Fake.Requests() {
		tried[r.Form.Get("requestNumber")]++
		if r.Status == 200 {
			accepted[r.Form.Get("requestNumber")]++
		}
	}
	for i := range orders {
		key := fmt.Sprintf("two-%02d~1", i)
		if accepted[key] != 1 {
			t.Errorf("lead %s: Calltouch accepted it %d times, want once", key, accepted[key])
		}
		d := first.MustOrder(fmt.Sprintf("two-%02d", i)).Decisions
		if len(d) != 1 || len(d[0].Tries) != tried[key] {
			t.Errorf("lead %s: %d requests reached Calltouch, the audit records %v", key, tried[key], d)
		}
	}
	if len(accepted) != orders {
		t.Errorf("Calltouch accepted %d distinct leads, want %d", len(accepted), orders)
	}
}

// postLeadsTurnAbout posts n orders of the widget, <prefix>-00 and on, each
// answered at once (a lead under an after_call policy), through the serves
// in turn.
func postLeadsTurnAbout(n int, prefix, widget string, serves ...*harness.Engine) {
	for i := range n {
		o := fmt.Sprintf("%s-%02d", prefix, i)
		serves[i%len(serves)].MustPost(harness.Ordered(o, widget, nil), harness.Answered(o, widget, 1))
	}
}

// TestDelivery_PostgresRateHoldsAcrossServes: CTJ_CALLTOUCH_RPS bounds the requests
// a site gets from all the serves on a database together, not from each.
func TestDelivery_PostgresRateHoldsAcrossServes(t *testing.T) {
	t.Parallel()
	const rps, leads = 4, 8
	first := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_RPS", fmt.Sprint(rps)))
	second := first.Another(t)
	first.PutPolicy("rate-w", harness.PolicyFor(first.Fake, nil))

	postLeadsTurnAbout(leads, "rate", "rate-w", first, second)
	requests := first.WaitForRequests(leads)

	// Each request waits for its slot, an interval after the one before,
	// and is sent a moment later: the first one's moment may eat into the
	// span, hence one interval of slack (two serves each keeping the rate
	// alone would take half the span).
	at := make([]time.Time, len(requests))
	for i, r := range requests {
		at[i] = r.At
	}
	slices.SortFunc(at, time.Time.Compare)
	interval := time.Second / rps
	if span, least := at[len(at)-1].Sub(at[0]), time.Duration(leads-2)*interval; span < least {
		t.Errorf("%d requests to one site at CTJ_CALLTOUCH_RPS=%d came within %s, want at least %s", leads, rps, span, least)
	}
}
