package reliability

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"
)

// Promise 7 — clean stop. SIGTERM while clients post and leads are being
// sent (two of them hanging at Calltouch): every request gets a complete
// HTTP answer, or finds the port closed; serve exits 0 within a bounded
// time; the tries in flight are finished and recorded, no claim is left;
// every event answered 202 is in the log, and after a start every lead
// is delivered.
func TestReliability_CleanStopUnderLoad(t *testing.T) {
	e := harness.Start(t) // CTJ_CALLTOUCH_TIMEOUT 2s
	db := e.OpenDB(t)
	e.PutPolicy("rel-stop-w", harness.PolicyFor(e.Fake, nil))

	// One connection per request: a request is either refused at connect
	// (the listener is closed) or read by serve, which must answer it.
	g := loadgen.NewLoadGen("rel-stop", "rel-stop-w", e.Process)
	g.Client = &http.Client{Timeout: harness.WaitLimit, Transport: &http.Transport{DisableKeepAlives: true}}
	g.Retry = false
	g.Pause = [2]time.Duration{50 * time.Millisecond, 150 * time.Millisecond}
	var mu sync.Mutex
	var results []loadgen.PostResult
	g.Observe = func(r loadgen.PostResult) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	const clients = 4
	stop := runLoad(g, clients, time.Minute)
	defer stop()

	g.WaitAccepted(t, 8)
	before := e.Fake.Count()
	e.Fake.Script(calltouchfake.Hang(), calltouchfake.Hang())
	harness.Eventually(t, "two tries hanging at Calltouch", func() (bool, string) {
		reqs := e.Fake.Requests()[before:]
		return len(slices.DeleteFunc(reqs, func(r calltouchfake.Request) bool { return r.Answered })) >= 2,
			fmt.Sprintf("%d requests since", len(reqs))
	})
	pid := e.PID()
	sigterm := time.Now()
	code, took, err := e.Terminate(45 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Clients keep posting until each has found serve gone: a client ends
	// at its first answer other than 202.
	harness.Eventually(t, "every client to find serve gone", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		ended := 0
		for _, r := range results {
			if r.Status != http.StatusAccepted {
				ended++
			}
		}
		return ended >= clients, fmt.Sprintf("%d of %d clients ended", ended, clients)
	})
	stop()

	if code != 0 {
		t.Errorf("serve (pid %d) exited with code %d after SIGTERM, want 0", pid, code)
	}
	claims := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_deliveries WHERE claimed_by IS NOT NULL`)
	if claims != 0 {
		t.Errorf("%d claims left in ctj_deliveries after serve exited", claims)
	}
	requests := e.Fake.Count()
	recorded := harness.QueryInt(t, db, `SELECT coalesce(sum(tries), 0) FROM ctj_deliveries`)
	if recorded != requests {
		t.Errorf("Calltouch got %d requests, %d tries recorded: a try in flight at SIGTERM was not recorded", requests, recorded)
	}

	// Every request: a complete answer, or refused once serve was stopping.
	// A connection the kernel accepted but serve never read (the listener
	// closed under it) ends without an answer; then nothing of it may have
	// been stored. A request sent well before SIGTERM must be answered.
	var answered, refused, unread int
	var unreadIDs []string
	for _, r := range results {
		switch {
		case r.Err == nil:
			answered++
		case loadgen.ErrorKind(r.Err) == "connection refused" && r.End.After(sigterm):
			refused++
		case r.Start.After(sigterm.Add(-time.Second)):
			unread++
			unreadIDs = append(unreadIDs, r.EventIDs...)
		default:
			t.Errorf("a request sent at %s, before SIGTERM at %s, got no answer: %v",
				r.Start.Format("15:04:05.000"), sigterm.Format("15:04:05.000"), r.Err)
		}
	}
	if n := harness.QueryInt(t, db, `SELECT count(*) FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(unreadIDs)); n != 0 {
		t.Errorf("%d events of requests that got no answer were stored: serve took them and never answered", n)
	}
	if refused == 0 {
		t.Errorf("no client found the port closed after SIGTERM: the load did not overlap the stop")
	}
	if g.Unexpected != nil {
		t.Errorf("answers no client should get: %v", g.Unexpected)
	}
	t.Logf("SIGTERM under load (%d tries hanging at Calltouch): exit code %d after %s; %d claims left; %d Calltouch requests, %d tries recorded",
		2, code, took.Round(time.Millisecond), claims, requests, recorded)
	t.Logf("requests: %d answered completely, %d refused after the stop, %d cut before serve read them (none stored); %s",
		answered, refused, unread, g.Summary())

	// Started again, it delivers every lead: nothing was lost by the stop.
	e.RestartAfterKill(t)
	r := loadgen.CheckDelivered(t, db, g, e.Fake, nil, 60*time.Second)
	t.Logf("counts: %s", r)
}
