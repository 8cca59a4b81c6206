package tests

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// backoffSlack is how much later than its longest delay a retry may come:
// the worker's idle poll (250 ms) and a busy machine. Only the upper
// bound has slack; a retry is never due before its delay.
const backoffSlack = 2 * time.Second

// checkBackoff requires the gaps between a lead's tries to follow
// calltouch.md: CTJ_RETRY_BASE doubling per try, capped at CTJ_RETRY_MAX,
// ±20 % jitter; never sooner than 0.8× the delay (or a Retry-After the
// try got), at most 1.2× plus slack, except a gap in which serve was
// restarting. It returns the gaps, for the log.
func checkBackoff(t *testing.T, key string, tries []try, base, maxDelay time.Duration, retryAfter map[int]time.Duration, restart [2]time.Time) []string {
	t.Helper()
	var gaps []string
	for i := 1; i < len(tries); i++ {
		n := i // the try after which this delay came
		want := base << (n - 1)
		if n > 20 || want > maxDelay {
			want = maxDelay
		}
		lo, hi := time.Duration(float64(want)*0.8), min(time.Duration(float64(want)*1.2), maxDelay)
		if ra := retryAfter[n]; ra > lo {
			lo, hi = ra, ra
		}
		gap := tries[i].At.Sub(tries[i-1].At)
		spansRestart := tries[i-1].At.Before(restart[1]) && tries[i].At.After(restart[0])
		note := ""
		if spansRestart {
			note = " (serve restarted meanwhile)"
		}
		gaps = append(gaps, fmt.Sprintf("%s%s", gap.Round(10*time.Millisecond), note))
		if gap < lo-5*time.Millisecond {
			t.Errorf("lead %s: try %d came %s after try %d, sooner than the backoff allows (at least %s)", key, n+1, gap, n, lo)
		}
		if !spansRestart && gap > hi+backoffSlack {
			t.Errorf("lead %s: try %d came %s after try %d, want at most %s (+%s slack)", key, n+1, gap, n, hi, backoffSlack)
		}
	}
	return gaps
}

// Promise 4 — retries survive restarts and outages. Calltouch answers
// 503 (one site 429 with Retry-After first) for a while and serve is
// restarted meanwhile; once Calltouch recovers every lead is delivered,
// and each lead's tries followed the backoff across the restart. A lead
// Calltouch keeps refusing for longer than CTJ_GIVE_UP_AFTER becomes
// failed; `ctjournal redeliver KEY`, run as its own process, sends it
// again (same bytes, a new try in the log) and is refused for a
// delivered lead.
func TestReliability_RetriesSurviveRestartsAndOutages(t *testing.T) {
	const base, maxDelay, giveUp = 500 * time.Millisecond, 3 * time.Second, 15 * time.Second
	e := startEngine(t, withEnv("CTJ_RETRY_BASE", base.String()), withEnv("CTJ_RETRY_MAX", maxDelay.String()),
		withEnv("CTJ_GIVE_UP_AFTER", giveUp.String()))
	db := e.openDB(t)
	down := calltouchfake.Status(503, `{"error": "Service Unavailable"}`)
	outage, limited, gone := e.fake, e.newFake(t), e.newFake(t)
	outage.SetDefault(down)
	limited.SetDefault(down)
	limited.Script(calltouchfake.RetryAfter(429, 2))
	gone.SetDefault(down)
	e.putPolicy("rel-retry-a", policyFor(outage, nil))
	e.putPolicy("rel-retry-b", policyFor(limited, nil))
	e.putPolicy("rel-retry-c", policyFor(gone, nil))

	var outageKeys []string
	for i := range 4 {
		o := fmt.Sprintf("rel-retry-a%d", i)
		e.mustPost(ordered(o, "rel-retry-a", nil), answered(o, "rel-retry-a", 1))
		outageKeys = append(outageKeys, o+"~1")
	}
	e.mustPost(ordered("rel-retry-b", "rel-retry-b", nil), answered("rel-retry-b", "rel-retry-b", 1))
	e.mustPost(ordered("rel-retry-c", "rel-retry-c", nil), answered("rel-retry-c", "rel-retry-c", 1))
	posted := time.Now()
	requestsFor := func(fake *calltouchfake.Server, key string, since time.Time) int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Form.Get("requestNumber") == key && r.At.After(since) {
				n++
			}
		}
		return n
	}
	retried := func(since time.Time, n int) func() (bool, string) {
		return func() (bool, string) {
			var counts []int
			ok := true
			for _, key := range outageKeys {
				counts = append(counts, requestsFor(outage, key, since))
			}
			counts = append(counts, requestsFor(limited, "rel-retry-b~1", since), requestsFor(gone, "rel-retry-c~1", since))
			for _, c := range counts {
				ok = ok && c >= n
			}
			return ok, fmt.Sprintf("requests per lead: %v", counts)
		}
	}

	// Serve restarts in the middle of the outage, with retries scheduled;
	// Calltouch recovers once every lead was tried again after the restart.
	waitUntil(t, waitLimit, "every lead tried twice", retried(posted, 2))
	var restart [2]time.Time
	restart[0] = time.Now()
	e.restart()
	restart[1] = time.Now()
	waitUntil(t, waitLimit, "every lead tried again after the restart", retried(restart[1], 1))
	outage.SetDefault(calltouchfake.OK())
	limited.SetDefault(calltouchfake.OK())
	recovered := time.Now()

	for _, key := range append(outageKeys, "rel-retry-b~1") {
		d := e.waitForLead(key, "delivered")
		got := statusesOf(d.Tries)
		retryAfter := map[int]time.Duration{}
		if key == "rel-retry-b~1" {
			retryAfter[1] = 2 * time.Second
			if len(got) < 2 || got[0] != 429 {
				t.Errorf("lead %s: tries %v, want 429 first", key, got)
			}
			got = got[1:]
		}
		if len(got) < 3 || got[len(got)-1] != 200 || slices.ContainsFunc(got[:len(got)-1], func(s int) bool { return s != 503 }) {
			t.Errorf("lead %s: tries %v, want 503s then 200", key, statusesOf(d.Tries))
		}
		if !d.Tries[0].At.Before(restart[0]) || !d.Tries[len(d.Tries)-1].At.After(restart[1]) {
			t.Errorf("lead %s: tries %v did not span the restart", key, d.Tries)
		}
		gaps := checkBackoff(t, key, d.Tries, base, maxDelay, retryAfter, restart)
		t.Logf("lead %s: tries %v, gaps %v", key, statusesOf(d.Tries), gaps)
	}
	sameBodies(t, slices.DeleteFunc(outage.Requests(), func(r calltouchfake.Request) bool {
		return r.Form.Get("requestNumber") != outageKeys[0]
	}))

	// The lead Calltouch never took is given up after CTJ_GIVE_UP_AFTER.
	failedLead := e.waitForLead("rel-retry-c~1", "failed")
	if len(failedLead.History) == 0 || failedLead.History[len(failedLead.History)-1].Event != "given_up" {
		t.Errorf("lead rel-retry-c~1: history %+v, want given_up last", failedLead.History)
	} else if at := failedLead.History[len(failedLead.History)-1].At; at.Sub(failedLead.DecidedAt) < giveUp {
		t.Errorf("lead rel-retry-c~1 given up %s after its decision, before CTJ_GIVE_UP_AFTER (%s)", at.Sub(failedLead.DecidedAt), giveUp)
	}
	gaps := checkBackoff(t, "rel-retry-c~1", failedLead.Tries, base, maxDelay, nil, restart)
	triesBefore := len(failedLead.Tries)
	time.Sleep(settle)
	if n := gone.Count(); n != triesBefore {
		t.Errorf("Calltouch got %d requests for the given-up lead, %d tries recorded", n, triesBefore)
	}
	t.Logf("lead rel-retry-c~1: %d tries (all 503), gaps %v, then failed (%s)", triesBefore, gaps, failedLead.History)

	// ctjournal redeliver, a process of its own on the same database.
	loggedTries := func() int {
		return queryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' = 'delivery.tried' AND payload->>'key' = 'rel-retry-c~1'`)
	}
	logged := loggedTries()
	gone.SetDefault(calltouchfake.OK())
	out, errOut, code := e.cli("redeliver", "rel-retry-c~1")
	if code != 0 {
		t.Fatalf("ctjournal redeliver rel-retry-c~1 (failed): exit %d\n%s%s", code, out, errOut)
	}
	d := e.waitForLead("rel-retry-c~1", "delivered")
	reqs := settled(t, gone, triesBefore+1)
	sameBodies(t, reqs)
	if got := statusesOf(d.Tries); len(got) != triesBefore+1 || got[len(got)-1] != 200 {
		t.Errorf("after redeliver: tries %v, want the %d before and one 200", got, triesBefore)
	}
	if !slices.ContainsFunc(d.History, func(h leadEvent) bool { return strings.Contains(h.Event, "redeliver") }) {
		t.Errorf("after redeliver: history %+v, want the redelivery request", d.History)
	}
	if n := loggedTries(); n != logged+1 {
		t.Errorf("after redeliver: %d delivery.tried records in the log, want %d", n, logged+1)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' = 'lead.redelivery_requested' AND payload->>'key' = 'rel-retry-c~1'`); n != 1 {
		t.Errorf("%d lead.redelivery_requested records in the log, want 1", n)
	}

	// Refused for a delivered lead: non-zero exit, a message saying why.
	out, errOut, code = e.cli("redeliver", "rel-retry-c~1")
	if code == 0 || !strings.Contains(errOut, "delivered") {
		t.Errorf("ctjournal redeliver of a delivered lead: exit %d, stderr %q; want a non-zero exit saying it is delivered", code, errOut)
	}
	if status, got := e.doJSON(http.MethodPost, "/v1/leads/rel-retry-c~1/redeliver", nil); status != http.StatusConflict {
		t.Errorf("POST redeliver of a delivered lead: %d %v, want 409", status, got)
	}
	settled(t, gone, triesBefore+1)
	t.Logf("outage %s with a restart after %s; recovered, every lead delivered; redeliver: %q, then refused: exit %d %q",
		recovered.Sub(posted).Round(100*time.Millisecond), restart[0].Sub(posted).Round(100*time.Millisecond),
		strings.TrimSpace(out), code, strings.TrimSpace(errOut))
}
