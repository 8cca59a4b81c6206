package reliability

// Tests that disturb the whole PostgreSQL server: they stop it, or hold a
// transaction open that holds back every engine on it. They run only with
// CTJ_E2E_EXCLUSIVE=1, alone: `make test` runs them in a second, serial
// step after every other test.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"
)

// pgCluster runs pg_ctlcluster ACTION, with options, on the machine's one
// cluster.
func pgCluster(t *testing.T, action string, options ...string) {
	t.Helper()
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) != 1 {
		t.Fatalf("want one PostgreSQL version under /etc/postgresql: %v %v", versions, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "pg_ctlcluster",
		slices.Concat([]string{"--skip-systemctl-redirect"}, options, []string{versions[0].Name(), "main", action})...).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

// timedAnswer is one answer and when its request was under way.
type timedAnswer struct {
	start, end time.Time
	status     int
	body       string
}

func within(a timedAnswer, from, to time.Time) bool { return a.start.After(from) && a.end.Before(to) }

// gate stands between serve and the fake Calltouch: while shut it holds
// the requests that arrive, and passes them on when opened, so a test can
// have Calltouch accept a request at a moment of its choosing.
type gate struct {
	srv    *httptest.Server
	target string
	held   atomic.Int32
	mu     sync.Mutex
	opened chan struct{} // closed while the gate is open
}

func newGate(t *testing.T, target string) *gate {
	g := &gate{target: target, opened: make(chan struct{})}
	close(g.opened)
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() { g.open(); g.srv.Close() })
	return g
}

func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.opened:
		g.opened = make(chan struct{})
	default:
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.opened:
	default:
		close(g.opened)
	}
}

func (g *gate) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	opened := g.opened
	g.mu.Unlock()
	g.held.Add(1)
	select {
	case <-opened:
	case <-r.Context().Done():
	}
	g.held.Add(-1)
	if r.Context().Err() != nil {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, g.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Promise 5 — PostgreSQL goes away. PostgreSQL is stopped under load and
// started again a few seconds later. While it is down /readyz answers 503
// and ingest answers 503 (never 202 for what was not stored, never 500);
// serve reconnects by itself (same process); nothing acknowledged is
// lost, and the leads are still delivered. Sends under way when it goes
// down are accepted by Calltouch while it is down: their answers are
// recorded once it is back, and no lead is sent twice.
func TestExclusive_PostgresRestart(t *testing.T) {
	pgtest.Exclusive(t)
	postgresGoesAway(t, "fast")
}

// Promise 5, PostgreSQL crashing: the same with an immediate stop, no
// shutdown checkpoint, and recovery from the WAL at the start. The
// projection's last commits, made without waiting for the flush, may be
// lost then and are folded again; a lead handed over was sent only once
// its decision was on disk, so none is sent twice.
func TestExclusive_PostgresCrash(t *testing.T) {
	pgtest.Exclusive(t)
	postgresGoesAway(t, "immediate")
}

// postgresGoesAway stops PostgreSQL in mode (pg_ctl's -m) under load and
// starts it again four seconds later.
func postgresGoesAway(t *testing.T, mode string) {
	e := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_TIMEOUT", "10s"))
	db := e.OpenDB(t)
	gate := newGate(t, e.Fake.URL())
	e.PutPolicy("rel-pg-w", harness.PolicyFor(e.Fake, map[string]any{"server": gate.srv.URL}))
	pid := e.PID()

	g := loadgen.NewLoadGen("rel-pg", "rel-pg-w", e.Process)
	g.Pause = [2]time.Duration{50 * time.Millisecond, 150 * time.Millisecond}
	var mu sync.Mutex
	var ingest, ready []timedAnswer
	g.Observe = func(r loadgen.PostResult) {
		mu.Lock()
		ingest = append(ingest, timedAnswer{start: r.Start, end: r.End, status: r.Status})
		mu.Unlock()
	}
	stop := runLoad(g, 4, 2*time.Minute)
	defer stop()
	pollCtx, stopPoll := context.WithCancel(context.Background())
	var polling sync.WaitGroup
	polling.Go(func() {
		for pollCtx.Err() == nil {
			a := timedAnswer{start: time.Now()}
			a.status, a.body = e.Readyz()
			a.end = time.Now()
			mu.Lock()
			ready = append(ready, a)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	})
	defer func() { stopPoll(); polling.Wait() }()

	g.WaitAccepted(t, 8)
	gate.shut()
	harness.WaitUntil(t, harness.WaitLimit, "a send held at the gate", func() (bool, string) {
		return gate.held.Load() > 0, "none yet"
	})
	stopAsked := time.Now()
	pgCluster(t, "stop", "-m", mode)
	down := time.Now()
	gate.open() // Calltouch accepts what was under way, the store being down
	time.Sleep(4 * time.Second)
	up := time.Now()
	pgCluster(t, "start")
	started := time.Now()

	harness.WaitUntil(t, 60*time.Second, "/readyz 200 again", func() (bool, string) {
		status, body := e.Readyz()
		return status == http.StatusOK, fmt.Sprintf("%d %s", status, body)
	})
	readyAgain := time.Now()
	harness.WaitUntil(t, 60*time.Second, "ingest answering 202 again", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range ingest {
			if a.start.After(readyAgain) && a.status == http.StatusAccepted {
				return true, ""
			}
		}
		return false, g.Summary()
	})
	g.WaitAccepted(t, 8) // some load after the store came back too
	stop()
	stopPoll()
	polling.Wait()

	if e.PID() != pid {
		t.Errorf("serve's pid changed from %d to %d: it was restarted", pid, e.PID())
	}
	if !e.Alive() {
		t.Fatalf("serve exited while PostgreSQL was down:\n%s", e.Logs())
	}

	mu.Lock()
	var readyDown, ingestDown, ingestBad int
	for _, a := range ready {
		if within(a, down, up) {
			readyDown++
			if a.status != http.StatusServiceUnavailable {
				t.Errorf("/readyz while PostgreSQL was down: %d %s, want 503", a.status, a.body)
			}
		}
	}
	for _, a := range ingest {
		if within(a, down, up) {
			ingestDown++
			if a.status != http.StatusServiceUnavailable {
				ingestBad++
				t.Errorf("POST /v1/events while PostgreSQL was down: %d, want 503", a.status)
			}
		}
	}
	mu.Unlock()
	if readyDown == 0 || ingestDown == 0 {
		t.Errorf("while PostgreSQL was down: %d /readyz answers, %d ingest answers; want some of each", readyDown, ingestDown)
	}
	if g.Unexpected != nil {
		t.Errorf("answers no client should get (500 and the like): %v", g.Unexpected)
	}

	r := loadgen.CheckDelivered(t, db, g, e.Fake, nil, 90*time.Second)
	acceptedDown := 0
	for _, req := range e.Fake.Requests() {
		if req.Status == 200 && req.At.After(down) && req.At.Before(up) {
			acceptedDown++
		}
	}
	if acceptedDown == 0 {
		t.Errorf("Calltouch accepted no lead while PostgreSQL was down: the test did not cover a send under way")
	}
	t.Logf("%d leads accepted by Calltouch while PostgreSQL was down, recorded once it was back (double sends: %d)", acceptedDown, r.Doubles)
	t.Logf("PostgreSQL stopped in mode %s (took %s), down %s, started (took %s); serve (same pid %d) ready again %s after the start",
		mode, down.Sub(stopAsked).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond), started.Sub(up).Round(time.Millisecond),
		pid, readyAgain.Sub(started).Round(time.Millisecond))
	t.Logf("while down: /readyz answered 503 %d times; ingest answered %d times, %d not 503; %s", readyDown, ingestDown, ingestBad, g.Summary())
	t.Logf("counts: %s", r)
}

// stuckSeconds is how long the stuck transaction stays open:
// CTJ_E2E_STUCK_SECONDS, default 20 (the minute: 60).
func stuckSeconds(t *testing.T) time.Duration {
	if v := os.Getenv("CTJ_E2E_STUCK_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 8 {
			t.Fatalf("CTJ_E2E_STUCK_SECONDS %q: want a whole number of seconds ≥ 8", v)
		}
		return time.Duration(n) * time.Second
	}
	return 20 * time.Second
}

// Promise 6 — a stuck transaction elsewhere. A session in another
// database of the server opens a transaction, takes an id and stays idle
// in transaction. The projection only sees log records older than the
// oldest open transaction on the server, so decisions wait (no lead is
// delivered while it stays open): serve says so within seconds — /readyz
// 503 naming the stall, ctj_projection_stalled 1, a warning in its log —
// and once the session ends it catches up and delivers every lead. Two serves: one that has folded records before,
// and one on a fresh database whose first record is held back.
func TestExclusive_PostgresStuckTransactionElsewhere(t *testing.T) {
	pgtest.Exclusive(t)
	hold := stuckSeconds(t)
	warm := harness.Start(t)
	warm.PutPolicy("rel-stuck-w", harness.PolicyFor(warm.Fake, nil))
	warm.MustPost(harness.Ordered("rel-stuck-0", "rel-stuck-w", nil), harness.Answered("rel-stuck-0", "rel-stuck-w", 1))
	warm.WaitForLead("rel-stuck-0~1", "delivered")
	fresh := harness.Start(t)
	engines := map[string]*harness.Engine{"warm": warm, "fresh": fresh}

	other, err := sql.Open("postgres", harness.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}
	var xid int64
	if err := conn.QueryRowContext(ctx, `SELECT txid_current()`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	stuck := time.Now()
	ended := false
	endStuck := func() {
		if !ended {
			ended = true
			_, _ = conn.ExecContext(ctx, `ROLLBACK`)
		}
	}
	defer endStuck()

	// Work arrives while the transaction is open.
	fresh.PutPolicy("rel-stuck-w", harness.PolicyFor(fresh.Fake, nil))
	var keys []string
	for i := 1; i <= 10; i++ {
		o := fmt.Sprintf("rel-stuck-%d", i)
		for _, e := range engines {
			e.MustPost(harness.Ordered(o, "rel-stuck-w", nil), harness.Answered(o, "rel-stuck-w", 1))
		}
		keys = append(keys, o+"~1")
	}

	detected := map[string]time.Duration{}
	for name, e := range engines {
		harness.WaitUntil(t, 20*time.Second, name+" serve reporting the stall", func() (bool, string) {
			status, body := e.Readyz()
			m, err := e.Metrics()
			if err != nil {
				return false, err.Error()
			}
			stalled, held := m["ctj_projection_stalled"], m["ctj_projection_held_back_records"]
			ok := status == http.StatusServiceUnavailable && strings.Contains(body, "stalled") &&
				stalled == 1 && held > 0 && strings.Contains(e.Logs(), "projection stalled")
			return ok, fmt.Sprintf("/readyz %d %s; ctj_projection_stalled %v, held back %v; log warning %v",
				status, body, stalled, held, strings.Contains(e.Logs(), "projection stalled"))
		})
		detected[name] = time.Since(stuck).Round(100 * time.Millisecond)
		_, body := e.Readyz()
		t.Logf("%s serve: stall reported %s after the transaction began: /readyz 503 %s", name, detected[name], body)
		// The stuck session's SQL text is its own: shown nowhere.
		if strings.Contains(body, "txid_current") || strings.Contains(e.Logs(), "txid_current") {
			t.Errorf("%s serve: /readyz or the log shows the stuck session's SQL text: %s", name, body)
		}
		status, st := e.DoJSON(http.MethodGet, "/v1/status", nil)
		if p, _ := st["projection"].(map[string]any); status != http.StatusOK || p["held_back_by"] == nil ||
			strings.Contains(fmt.Sprint(st), "txid_current") {
			t.Errorf("%s serve: GET /v1/status %d %v, want the holder named without its SQL text", name, status, st)
		}
	}

	deliveredDuring := map[string]int{}
	time.Sleep(time.Until(stuck.Add(hold)))
	for name, e := range engines {
		deliveredDuring[name] = len(e.Leads("status=delivered&limit=1000").Leads)
		if name == "warm" {
			deliveredDuring[name]-- // rel-stuck-0, delivered before
		}
		if deliveredDuring[name] != 0 {
			t.Errorf("%s serve: %d leads delivered while the transaction was open, want none: the projection reads only below it",
				name, deliveredDuring[name])
		}
		if s, _ := e.Readyz(); s != http.StatusServiceUnavailable {
			t.Errorf("%s serve: /readyz %d after %s of the stuck transaction, want 503 until it ends", name, s, hold)
		}
	}
	endStuck()
	endedAt := time.Now()

	for name, e := range engines {
		want := len(keys)
		if name == "warm" {
			want++
		}
		harness.WaitUntil(t, 30*time.Second, name+" serve catching up", func() (bool, string) {
			n := len(e.Leads("status=delivered&limit=1000").Leads)
			status, body := e.Readyz()
			m, _ := e.Metrics()
			return n == want && status == http.StatusOK && m["ctj_projection_stalled"] == 0,
				fmt.Sprintf("%d of %d delivered; /readyz %d %s; stalled %v", n, want, status, body, m["ctj_projection_stalled"])
		})
		if !strings.Contains(e.Logs(), "no longer stalled") {
			t.Errorf("%s serve: no log line saying the stall ended", name)
		}
		t.Logf("%s serve: %d of the leads posted meanwhile delivered while the transaction was open (%s), all %d within %s after it ended",
			name, deliveredDuring[name], hold, want, time.Since(endedAt).Round(100*time.Millisecond))
	}
	for _, key := range keys {
		for name, e := range engines {
			if k := loadgen.RequestsPerKey(e.Fake.Requests())[key]; k == nil || len(k.Accepted) != 1 {
				t.Errorf("%s serve: lead %s not accepted exactly once: %+v", name, key, k)
			}
		}
	}
}
