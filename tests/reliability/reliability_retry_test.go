package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// scheduled is the retry time serve wrote in a lead's queue row after one
// of its tries, and the lead's deadline (a retry is never set later).
type scheduled struct {
	next, deadline time.Time
}

// watchSchedule samples, every few milliseconds until stop is called, the
// queue rows of keys: the retry time serve set after each try, by the
// number of tries recorded. A sample missed (the next try came first)
// leaves that try unchecked; stop fails t when none was seen for a key.
func watchSchedule(t *testing.T, db *sql.DB, keys []string) (stop func() map[string]map[int]scheduled) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	seen := map[string]map[int]scheduled{}
	var failed error
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := sampleSchedule(ctx, db, keys, seen); err != nil && ctx.Err() == nil {
				failed = err
				return
			}
		}
	}()
	return func() map[string]map[int]scheduled {
		t.Helper()
		cancel()
		<-done
		if failed != nil {
			t.Fatalf("reading the retry schedule: %v", failed)
		}
		for _, key := range keys {
			if len(seen[key]) == 0 {
				t.Errorf("lead %s: no retry time seen in its queue row", key)
			}
		}
		return seen
	}
}

func sampleSchedule(ctx context.Context, db *sql.DB, keys []string, seen map[string]map[int]scheduled) error {
	rows, err := db.QueryContext(ctx, `SELECT key, tries, next_attempt_at, deadline_at FROM ctj_deliveries
		WHERE key = ANY($1) AND status = 'pending' AND tries > 0`, pq.Array(keys))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var tries int
		var s scheduled
		if err := rows.Scan(&key, &tries, &s.next, &s.deadline); err != nil {
			return err
		}
		if seen[key] == nil {
			seen[key] = map[int]scheduled{}
		}
		seen[key][tries] = s
	}
	return rows.Err()
}

// checkBackoff requires a lead's tries to follow docs/calltouch.md: CTJ_RETRY_BASE
// doubling per try, capped at CTJ_RETRY_MAX, ±20 % jitter (still capped),
// and a longer Retry-After honoured. It checks what a busy machine cannot
// make up: the tries come in order; each comes no sooner than its delay
// allows (0.8× the delay, or the Retry-After the try before got); and the
// retry time serve set after a try (schedule, by tries recorded) is within
// the jitter of the delay, or the lead's deadline. How late a try actually
// came is not checked: a loaded machine delays everything. It returns the
// gaps, for the log.
func checkBackoff(t *testing.T, key string, tries []harness.Try, schedule map[int]scheduled, base, maxDelay time.Duration,
	retryAfter map[int]time.Duration, restart [2]time.Time) []string {
	t.Helper()
	// Times are stored to the microsecond.
	const rounding = time.Millisecond
	var gaps []string
	for n := 1; n < len(tries); n++ { // the delay after try n
		want := base << (n - 1)
		if n > 20 || want > maxDelay {
			want = maxDelay
		}
		lo, hi := time.Duration(float64(want)*0.8), min(time.Duration(float64(want)*1.2), maxDelay)
		if ra := retryAfter[n]; ra > 0 {
			lo, hi = max(lo, ra), max(hi, ra)
		}
		gap := tries[n].At.Sub(tries[n-1].At)
		note := ""
		if tries[n-1].At.Before(restart[1]) && tries[n].At.After(restart[0]) {
			note = " (serve restarted meanwhile)"
		}
		if s, ok := schedule[n]; ok {
			set := s.next.Sub(tries[n-1].At)
			note += fmt.Sprintf(" [set %s]", set.Round(10*time.Millisecond))
			if (set < lo-rounding || set > hi+rounding) && !s.next.Equal(s.deadline) {
				t.Errorf("lead %s: after try %d serve set the next one %s later, want %s–%s", key, n, set, lo, hi)
			}
		}
		gaps = append(gaps, fmt.Sprintf("%s%s", gap.Round(10*time.Millisecond), note))
		if gap <= 0 {
			t.Errorf("lead %s: try %d at %s, not after try %d at %s", key, n+1, tries[n].At, n, tries[n-1].At)
		} else if gap < lo-rounding {
			t.Errorf("lead %s: try %d came %s after try %d, sooner than the backoff allows (at least %s)", key, n+1, gap, n, lo)
		}
	}
	return gaps
}

// Promise 4 — retries survive restarts and outages. Calltouch answers
// 503 (one site 429 with Retry-After first) for a while and serve is
// restarted meanwhile; once Calltouch recovers every lead is delivered,
// and each lead's tries followed the backoff across the restart (in
// order, none early, each retry set within the jitter of its delay). A lead
// Calltouch keeps refusing for longer than CTJ_GIVE_UP_AFTER becomes
// failed; `ctjournal redeliver KEY`, run as its own process, sends it
// again (same bytes, a new try in the log) and is refused for a
// delivered lead.
func TestReliability_RetriesSurviveRestartsAndOutages(t *testing.T) {
	const base, maxDelay, giveUp = 500 * time.Millisecond, 3 * time.Second, 15 * time.Second
	e := harness.Start(t, harness.WithEnv("CTJ_RETRY_BASE", base.String()), harness.WithEnv("CTJ_RETRY_MAX", maxDelay.String()),
		harness.WithEnv("CTJ_GIVE_UP_AFTER", giveUp.String()))
	db := e.OpenDB(t)
	down := calltouchfake.Status(503, `{"error": "Service Unavailable"}`)
	outage, limited, gone := e.Fake, e.NewFake(t), e.NewFake(t)
	outage.SetDefault(down)
	limited.SetDefault(down)
	limited.Script(calltouchfake.RetryAfter(429, 2))
	gone.SetDefault(down)
	e.PutPolicy("rel-retry-a", harness.PolicyFor(outage, nil))
	e.PutPolicy("rel-retry-b", harness.PolicyFor(limited, nil))
	e.PutPolicy("rel-retry-c", harness.PolicyFor(gone, nil))

	var outageKeys []string
	for i := range 4 {
		o := fmt.Sprintf("rel-retry-a%d", i)
		e.MustPost(harness.Ordered(o, "rel-retry-a", nil), harness.Answered(o, "rel-retry-a", 1))
		outageKeys = append(outageKeys, o+"~1")
	}
	e.MustPost(harness.Ordered("rel-retry-b", "rel-retry-b", nil), harness.Answered("rel-retry-b", "rel-retry-b", 1))
	e.MustPost(harness.Ordered("rel-retry-c", "rel-retry-c", nil), harness.Answered("rel-retry-c", "rel-retry-c", 1))
	posted := time.Now()
	allKeys := append(slices.Clone(outageKeys), "rel-retry-b~1", "rel-retry-c~1")
	stopWatching := watchSchedule(t, db, allKeys)
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
	harness.WaitUntil(t, harness.WaitLimit, "every lead tried twice", retried(posted, 2))
	var restart [2]time.Time
	restart[0] = time.Now()
	e.Restart()
	restart[1] = time.Now()
	harness.WaitUntil(t, harness.WaitLimit, "every lead tried again after the restart", retried(restart[1], 1))
	outage.SetDefault(calltouchfake.OK())
	limited.SetDefault(calltouchfake.OK())
	recovered := time.Now()

	delivered := map[string]harness.Decision{}
	for _, key := range append(outageKeys, "rel-retry-b~1") {
		delivered[key] = e.WaitForLead(key, "delivered")
	}
	failedLead := e.WaitForLead("rel-retry-c~1", "failed")
	schedules := stopWatching()

	for _, key := range append(outageKeys, "rel-retry-b~1") {
		d := delivered[key]
		got := harness.StatusesOf(d.Tries)
		retryAfter := map[int]time.Duration{}
		if key == "rel-retry-b~1" {
			retryAfter[1] = 2 * time.Second
			if len(got) < 2 || got[0] != 429 {
				t.Errorf("lead %s: tries %v, want 429 first", key, got)
			}
			got = got[1:]
		}
		if len(got) < 3 || got[len(got)-1] != 200 || slices.ContainsFunc(got[:len(got)-1], func(s int) bool { return s != 503 }) {
			t.Errorf("lead %s: tries %v, want 503s then 200", key, harness.StatusesOf(d.Tries))
		}
		if !d.Tries[0].At.Before(restart[0]) || !d.Tries[len(d.Tries)-1].At.After(restart[1]) {
			t.Errorf("lead %s: tries %v did not span the restart", key, d.Tries)
		}
		gaps := checkBackoff(t, key, d.Tries, schedules[key], base, maxDelay, retryAfter, restart)
		t.Logf("lead %s: tries %v, gaps %v", key, harness.StatusesOf(d.Tries), gaps)
	}
	harness.SameBodies(t, slices.DeleteFunc(outage.Requests(), func(r calltouchfake.Request) bool {
		return r.Form.Get("requestNumber") != outageKeys[0]
	}))

	// The lead Calltouch never took is given up after CTJ_GIVE_UP_AFTER.
	if len(failedLead.History) == 0 || failedLead.History[len(failedLead.History)-1].Event != "given_up" {
		t.Errorf("lead rel-retry-c~1: history %+v, want given_up last", failedLead.History)
	} else if at := failedLead.History[len(failedLead.History)-1].At; at.Sub(failedLead.DecidedAt) < giveUp {
		t.Errorf("lead rel-retry-c~1 given up %s after its decision, before CTJ_GIVE_UP_AFTER (%s)", at.Sub(failedLead.DecidedAt), giveUp)
	}
	gaps := checkBackoff(t, "rel-retry-c~1", failedLead.Tries, schedules["rel-retry-c~1"], base, maxDelay, nil, restart)
	triesBefore := len(failedLead.Tries)
	time.Sleep(harness.Settle)
	if n := gone.Count(); n != triesBefore {
		t.Errorf("Calltouch got %d requests for the given-up lead, %d tries recorded", n, triesBefore)
	}
	t.Logf("lead rel-retry-c~1: %d tries (all 503), gaps %v, then failed (%s)", triesBefore, gaps, failedLead.History)

	// ctjournal redeliver, a process of its own on the same database.
	loggedTries := func() int {
		return harness.QueryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' = 'delivery.tried' AND payload->>'key' = 'rel-retry-c~1'`)
	}
	logged := loggedTries()
	gone.SetDefault(calltouchfake.OK())
	out, errOut, code := e.CLI("redeliver", "rel-retry-c~1")
	if code != 0 {
		t.Fatalf("ctjournal redeliver rel-retry-c~1 (failed): exit %d\n%s%s", code, out, errOut)
	}
	d := e.WaitForLead("rel-retry-c~1", "delivered")
	reqs := harness.Settled(t, gone, triesBefore+1)
	harness.SameBodies(t, reqs)
	if got := harness.StatusesOf(d.Tries); len(got) != triesBefore+1 || got[len(got)-1] != 200 {
		t.Errorf("after redeliver: tries %v, want the %d before and one 200", got, triesBefore)
	}
	if !slices.ContainsFunc(d.History, func(h harness.LeadEvent) bool { return strings.Contains(h.Event, "redeliver") }) {
		t.Errorf("after redeliver: history %+v, want the redelivery request", d.History)
	}
	if n := loggedTries(); n != logged+1 {
		t.Errorf("after redeliver: %d delivery.tried records in the log, want %d", n, logged+1)
	}
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_log WHERE payload->>'type' = 'lead.redelivery_requested' AND payload->>'key' = 'rel-retry-c~1'`); n != 1 {
		t.Errorf("%d lead.redelivery_requested records in the log, want 1", n)
	}

	// Refused for a delivered lead: non-zero exit, a message saying why.
	out, errOut, code = e.CLI("redeliver", "rel-retry-c~1")
	if code == 0 || !strings.Contains(errOut, "delivered") {
		t.Errorf("ctjournal redeliver of a delivered lead: exit %d, stderr %q; want a non-zero exit saying it is delivered", code, errOut)
	}
	if status, got := e.DoJSON(http.MethodPost, "/v1/leads/rel-retry-c~1/redeliver", nil); status != http.StatusConflict {
		t.Errorf("POST redeliver of a delivered lead: %d %v, want 409", status, got)
	}
	harness.Settled(t, gone, triesBefore+1)
	t.Logf("outage %s with a restart after %s; recovered, every lead delivered; redeliver: %q, then refused: exit %d %q",
		recovered.Sub(posted).Round(100*time.Millisecond), restart[0].Sub(posted).Round(100*time.Millisecond),
		strings.TrimSpace(out), code, strings.TrimSpace(errOut))
}
