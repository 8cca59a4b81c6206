package tests

// Helpers of the reliability tests (reliability_*_test.go): more serve
// processes on one database, SIGKILL and timed SIGTERM, SQL on the
// engine's database, metrics and memory of a serve, a load generator that
// remembers every event acknowledged, and the checks that every
// acknowledged event is in the log and every lead it qualifies for was
// delivered, once.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// --- processes ---

// pid is the running serve's process id, 0 when none runs.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.Process.Pid
}

// alive reports whether the serve started last is still running.
func (p *process) alive() bool {
	p.mu.Lock()
	exited := p.exited
	running := p.proc != nil
	p.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// kill is one SIGKILL of a serve: when it came, and the local ports of
// the serve's connections to its fake Calltouch at that moment, which tell
// the requests it sent from those of any other serve.
type kill struct {
	at    time.Time
	ports map[int]bool
}

// sigkill ends serve with SIGKILL, as a crash would, and waits for it to be
// gone. It stops serve first (SIGSTOP), so that it sends nothing more while
// its connections are read. The process can be started again with start().
func (e *engine) sigkill() kill {
	e.t.Helper()
	pid := e.pid()
	if pid == 0 {
		e.t.Fatal("SIGKILL: serve is not running")
	}
	_, fakePort, err := net.SplitHostPort(strings.TrimPrefix(e.fake.URL(), "http://"))
	if err != nil {
		e.t.Fatalf("the fake Calltouch's port: %v", err)
	}
	remote, _ := strconv.Atoi(fakePort)
	k := kill{at: time.Now()}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		e.t.Fatalf("SIGSTOP to serve (pid %d): %v", pid, err)
	}
	k.ports, err = connectionPorts(pid, remote)
	e.kill()
	if err != nil {
		e.t.Fatalf("the connections of serve (pid %d) to the fake Calltouch: %v", pid, err)
	}
	return k
}

// terminate sends SIGTERM and waits up to limit for serve to exit; it
// returns the exit code and how long the exit took.
func (p *process) terminate(limit time.Duration) (code int, took time.Duration, err error) {
	p.mu.Lock()
	cmd, exited := p.proc, p.exited
	p.proc = nil
	p.mu.Unlock()
	if cmd == nil {
		return 0, 0, errors.New("serve is not running")
	}
	defer p.collectLogs()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, fmt.Errorf("SIGTERM to serve: %w", err)
	}
	select {
	case <-exited:
		return cmd.ProcessState.ExitCode(), time.Since(start), nil
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-exited
		return -1, time.Since(start), fmt.Errorf("serve did not exit within %s of SIGTERM", limit)
	}
}

// serves starts n-1 more serve processes on e's database and fake
// Calltouch and returns all n, e first.
func (e *engine) serves(t *testing.T, n int) []*engine {
	t.Helper()
	out := []*engine{e}
	for len(out) < n {
		out = append(out, e.another(t))
	}
	return out
}

// restartAfterKill starts serve again after sigkill, failing t if it cannot.
func (e *engine) restartAfterKill(t *testing.T) {
	t.Helper()
	if err := e.start(); err != nil {
		t.Fatalf("start serve again after SIGKILL: %v", err)
	}
}

// ownerPID is the process id in a delivery claim (host/pid/nonce).
func ownerPID(claimedBy string) int {
	parts := strings.Split(claimedBy, "/")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// openDB opens the engine's database for the test's own SQL, with a few
// connections, closed when t ends (before the database is dropped).
func (p *process) openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", p.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a query answering one integer, failing t on error.
func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return int(n.Int64)
}

// metrics reads serve's /metrics: each sample's value by its name with
// labels as written ("go_goroutines", `ctj_delivery_tries_total{outcome="delivered"}`).
func (p *process) metrics() (map[string]float64, error) {
	resp, err := p.client.Get(p.url("/metrics"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// readyz returns /readyz's status and body (status 0 and the error when
// there was no answer).
func (p *process) readyz() (int, string) {
	resp, err := p.client.Get(p.url("/readyz"))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp.StatusCode, b.String()
}

// vmRSS is the resident memory of a process in KiB, from /proc.
func vmRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("no VmRSS in /proc/status")
}

// waitUntil polls cond every 100 ms until it holds, failing t after limit
// with what it waited for and the last state cond described.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", limit, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randBetween(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// --- the fake's view, per lead key ---

// keyRequests is what the fake Calltouch got for one lead key.
type keyRequests struct {
	requests int
	accepted []acceptance // each request answered 2xx, in arrival order
}

// acceptance is one request the fake answered 2xx: when it arrived, and
// the local port of the connection it came over.
type acceptance struct {
	at   time.Time
	port int
}

// requestsPerKey groups the fake's requests by requestNumber.
func requestsPerKey(reqs []calltouchfake.Request) map[string]*keyRequests {
	out := map[string]*keyRequests{}
	for _, r := range reqs {
		key := r.Form.Get("requestNumber")
		k := out[key]
		if k == nil {
			k = &keyRequests{}
			out[key] = k
		}
		k.requests++
		if r.Status >= 200 && r.Status < 300 {
			_, port, _ := net.SplitHostPort(r.RemoteAddr)
			p, _ := strconv.Atoi(port)
			k.accepted = append(k.accepted, acceptance{at: r.At, port: p})
		}
	}
	return out
}

// crashWindow is how long before a SIGKILL Calltouch may have accepted a
// request whose try the killed serve had not recorded yet: the record's
// transaction follows the answer at once, and lags only on a busy machine.
// killSkew: the fake stamps a request when its handler starts, which on a
// busy machine may be a moment after the kill was stamped although the
// dying process sent it before.
const (
	crashWindow = 2 * time.Second
	killSkew    = time.Second
)

// doubleSends counts the keys Calltouch accepted more than once, and of
// them those docs/calltouch.md's window does not explain: a key may be
// accepted again only after a SIGKILL of the serve that sent the first
// acceptance (it came over one of that serve's connections), which came
// at most crashWindow after it (Calltouch accepted, the process died
// before recording the answer). windows lists, for each explained double
// send, how long before the kill Calltouch had accepted the request whose
// answer went unrecorded.
func doubleSends(perKey map[string]*keyRequests, kills []kill) (doubles int, unexplained []string, windows []time.Duration) {
	for key, k := range perKey {
		if len(k.accepted) < 2 {
			continue
		}
		doubles++
		for i := 1; i < len(k.accepted); i++ {
			first, again := k.accepted[i-1], k.accepted[i]
			explains := func(x kill) bool {
				return x.ports[first.port] && !first.at.Before(x.at.Add(-crashWindow)) &&
					!first.at.After(x.at.Add(killSkew)) && !again.at.Before(x.at)
			}
			n := slices.IndexFunc(kills, explains)
			if n < 0 {
				unexplained = append(unexplained, fmt.Sprintf("%s accepted %s; SIGKILLs %s", key, acceptancesText(k.accepted), killsText(kills)))
				break
			}
			windows = append(windows, kills[n].at.Sub(first.at))
		}
	}
	slices.Sort(unexplained)
	slices.Sort(windows)
	return doubles, unexplained, windows
}

// acceptancesText lists acceptances as time and port.
func acceptancesText(acc []acceptance) string {
	var out []string
	for _, a := range acc {
		out = append(out, fmt.Sprintf("%s (port %d)", a.at.Format("15:04:05.000"), a.port))
	}
	return strings.Join(out, ", ")
}

// killsText lists kills as time and the killed serve's ports.
func killsText(kills []kill) string {
	var out []string
	for _, x := range kills {
		ports := slices.Sorted(maps.Keys(x.ports))
		out = append(out, fmt.Sprintf("%s (ports %v)", x.at.Format("15:04:05.000"), ports))
	}
	if out == nil {
		return "none"
	}
	return strings.Join(out, ", ")
}

// --- load ---

// genOrder is one order the load generator made up: its events and the
// lead keys it qualifies for, each with the events it needs stored.
type genOrder struct {
	id     string
	events []event
	leads  map[string][]string // key → event ids that make it qualify
}

// loadGen posts made-up orders as concurrent clients would: single events,
// one order per batch, or several orders per batch; a request that gets
// no answer or 503 is sent again (same body: ingest is idempotent) until
// it gets 202. It remembers what was acknowledged.
type loadGen struct {
	prefix, widget string
	targets        []*process       // requests go round-robin to these
	client         *http.Client     // nil: the target's client
	retry          bool             // send a request again after no answer or 503
	pause          [2]time.Duration // each client's pause between pieces of work: [min, max]
	observe        func(postResult)

	seq, turn atomic.Int64

	mu         sync.Mutex
	orders     []*genOrder
	acked      map[string]bool // event ids answered 202
	requests   int             // HTTP requests sent
	answers    map[string]int  // "202", "503", "no answer: connection refused", …
	unexpected []string        // answers no client should get
}

// postResult is one HTTP request of the load and what became of it.
type postResult struct {
	start, end time.Time
	status     int // 0: no answer
	err        error
	eventIDs   []string
}

func newLoadGen(prefix, widget string, targets ...*process) *loadGen {
	return &loadGen{prefix: prefix, widget: widget, targets: targets, retry: true,
		acked: map[string]bool{}, answers: map[string]int{}}
}

// newOrder makes up one order: 2 of 3 are ordered + answered 1 (lead
// o~1), the rest ordered + failed 1 + answered 2 (leads o~1 and o~2).
func (g *loadGen) newOrder() *genOrder {
	o := &genOrder{id: fmt.Sprintf("%s-%06d", g.prefix, g.seq.Add(1)), leads: map[string][]string{}}
	ord := ordered(o.id, g.widget, nil)
	if rand.IntN(3) < 2 {
		ans := answered(o.id, g.widget, 1)
		o.events = []event{ord, ans}
		o.leads[o.id+"~1"] = []string{ord["event_id"].(string), ans["event_id"].(string)}
	} else {
		f, ans := failed(o.id, g.widget, 1, "no_answer"), answered(o.id, g.widget, 2)
		o.events = []event{ord, f, ans}
		o.leads[o.id+"~1"] = []string{ord["event_id"].(string), f["event_id"].(string)}
		o.leads[o.id+"~2"] = []string{ord["event_id"].(string), ans["event_id"].(string)}
	}
	g.mu.Lock()
	g.orders = append(g.orders, o)
	g.mu.Unlock()
	return o
}

// nextBodies makes up the next piece of work: one order posted event by
// event, one order in one batch, or 2–8 orders in one batch.
func (g *loadGen) nextBodies() [][]event {
	switch rand.IntN(3) {
	case 0:
		o := g.newOrder()
		var out [][]event
		for _, ev := range o.events {
			out = append(out, []event{ev})
		}
		return out
	case 1:
		return [][]event{g.newOrder().events}
	default:
		var batch []event
		for range 2 + rand.IntN(7) {
			batch = append(batch, g.newOrder().events...)
		}
		return [][]event{batch}
	}
}

// run posts until ctx ends; the request under way when it does is still
// sent again until it gets its 202 or hard ends.
func (g *loadGen) run(ctx, hard context.Context) {
	for ctx.Err() == nil {
		for _, body := range g.nextBodies() {
			if !g.post(ctx, hard, body) {
				return
			}
		}
		if g.pause[1] > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(randBetween(g.pause[0], g.pause[1])):
			}
		}
	}
}

// post sends one body until it gets 202 (true), or gives up (false): on an
// answer that retrying cannot change, when hard ends, or at once when
// g.retry is off.
func (g *loadGen) post(ctx, hard context.Context, body []event) bool {
	var payload []byte
	if len(body) == 1 {
		payload, _ = json.Marshal(body[0])
	} else {
		payload, _ = json.Marshal(body)
	}
	ids := make([]string, len(body))
	for i, ev := range body {
		ids[i] = ev["event_id"].(string)
	}
	for {
		target := g.targets[int(g.turn.Add(1))%len(g.targets)]
		r := postResult{start: time.Now(), eventIDs: ids}
		r.status, r.err = g.send(target, payload)
		r.end = time.Now()
		if g.observe != nil {
			g.observe(r)
		}
		g.mu.Lock()
		g.requests++
		switch {
		case r.err != nil:
			g.answers["no answer: "+errorKind(r.err)]++
		default:
			g.answers[strconv.Itoa(r.status)]++
		}
		if r.status == http.StatusAccepted {
			for _, id := range ids {
				g.acked[id] = true
			}
		}
		if r.status != 0 && r.status != http.StatusAccepted && r.status != http.StatusServiceUnavailable {
			g.unexpected = append(g.unexpected, fmt.Sprintf("%s: %d", r.start.Format("15:04:05.000"), r.status))
		}
		g.mu.Unlock()
		switch {
		case r.status == http.StatusAccepted:
			return true
		case !g.retry || hard.Err() != nil:
			return false
		case r.status != 0 && r.status != http.StatusServiceUnavailable && r.status < 500:
			return false
		}
		select {
		case <-hard.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (g *loadGen) send(target *process, payload []byte) (int, error) {
	if g.client == nil {
		status, _, err := target.send(http.MethodPost, "/v1/events", "application/json", payload)
		return status, err
	}
	resp, err := g.client.Post(target.url("/v1/events"), "application/json", strings.NewReader(string(payload)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	target.noteAnswer(http.MethodPost, "/v1/events", resp.StatusCode, out)
	return resp.StatusCode, nil
}

// errorKind names a client error: refused, reset, EOF, timeout, other.
func errorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case strings.Contains(err.Error(), "EOF"):
		return "EOF"
	case strings.Contains(err.Error(), "Client.Timeout"), strings.Contains(err.Error(), "deadline exceeded"):
		return "timeout"
	}
	return "other: " + err.Error()
}

// waitAccepted waits until n more of the load's requests got 202.
func (g *loadGen) waitAccepted(t *testing.T, n int) {
	t.Helper()
	accepted := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.answers[strconv.Itoa(http.StatusAccepted)]
	}
	want := accepted() + n
	waitUntil(t, waitLimit, fmt.Sprintf("%d more requests of the load answered 202", n), func() (bool, string) {
		return accepted() >= want, g.summary()
	})
}

// ackedIDs lists the event ids acknowledged with 202.
func (g *loadGen) ackedIDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.acked))
	for id := range g.acked {
		out = append(out, id)
	}
	return out
}

// expectedLeads lists the keys whose qualifying events were all acknowledged.
func (g *loadGen) expectedLeads() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, o := range g.orders {
		for key, needs := range o.leads {
			if !slices.ContainsFunc(needs, func(id string) bool { return !g.acked[id] }) {
				out = append(out, key)
			}
		}
	}
	return out
}

func (g *loadGen) summary() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	keys := make([]string, 0, len(g.answers))
	for k := range g.answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, g.answers[k]))
	}
	return fmt.Sprintf("%d orders, %d requests (%s)", len(g.orders), g.requests, strings.Join(parts, ", "))
}

// --- the checks ---

// deliveryReport is what checkDelivered counted.
type deliveryReport struct {
	acked, found       int // events acknowledged with 202; of them in the log
	logged, projected  int // call events in the log; folded by the projection
	expected, implied  int // leads qualified for by acknowledged / by logged events
	delivered          int // leads delivered (decisions with status delivered)
	requests, accepted int // Calltouch requests; answered 2xx
	doubles            int // keys Calltouch accepted more than once
	// windows: for each double send, how long before the SIGKILL Calltouch
	// had accepted the request whose answer was never recorded.
	windows []time.Duration
}

func (r deliveryReport) String() string {
	return fmt.Sprintf("events acknowledged %d, found in the log %d (call events logged %d, projected %d); "+
		"leads expected %d (qualified by logged events %d), delivered %d; Calltouch requests %d, accepted %d, double sends %d",
		r.acked, r.found, r.logged, r.projected, r.expected, r.implied, r.delivered, r.requests, r.accepted, r.doubles) +
		windowsText(r.windows)
}

// windowsText describes the accepted-to-kill gaps of the double sends.
func windowsText(w []time.Duration) string {
	if len(w) == 0 {
		return ""
	}
	return fmt.Sprintf(" (accepted %s–%s, median %s, before the SIGKILL)",
		w[0].Round(time.Millisecond), w[len(w)-1].Round(time.Millisecond), w[len(w)/2].Round(time.Millisecond))
}

// checkDelivered requires every acknowledged event in the log, every call
// event of the log folded once, every lead the logged events qualify for
// delivered (waiting up to limit), no other lead decided or sent, and
// every key accepted once by fake save for double sends a kill explains.
func checkDelivered(t *testing.T, db *sql.DB, g *loadGen, fake *calltouchfake.Server, kills []kill, limit time.Duration) deliveryReport {
	t.Helper()
	var r deliveryReport
	acked := g.ackedIDs()
	r.acked = len(acked)
	found := map[string]bool{}
	rows, err := db.Query(`SELECT uuid FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(acked))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		found[id] = true
	}
	rows.Close()
	r.found = len(found)
	var missing []string
	for _, id := range acked {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d events answered 202 are not in the log, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}

	// The leads the logged call events qualify for (after_call, no filter:
	// one per finished attempt of an order whose call.ordered is logged).
	implied := map[string]bool{}
	{
		rows, err := db.Query(`SELECT payload->>'order_id', payload->>'type', coalesce((payload->'data'->>'attempt')::int, 0)
			FROM ctj_log WHERE payload->>'type' LIKE 'call.%'`)
		if err != nil {
			t.Fatal(err)
		}
		orderedLogged := map[string]bool{}
		finished := map[string][]int{}
		for rows.Next() {
			var order, typ string
			var attempt int
			if err := rows.Scan(&order, &typ, &attempt); err != nil {
				t.Fatal(err)
			}
			r.logged++
			switch typ {
			case "call.ordered":
				orderedLogged[order] = true
			case "call.answered", "call.failed":
				finished[order] = append(finished[order], attempt)
			}
		}
		rows.Close()
		for order, attempts := range finished {
			if orderedLogged[order] {
				for _, n := range attempts {
					implied[fmt.Sprintf("%s~%d", order, n)] = true
				}
			}
		}
	}
	r.implied = len(implied)
	expected := g.expectedLeads()
	r.expected = len(expected)
	for _, key := range expected {
		if !implied[key] {
			t.Errorf("lead %s: its events were acknowledged but are not all in the log", key)
		}
	}

	delivered := func() (int, string) {
		n := queryInt(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`)
		pending := queryInt(t, db, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending'`)
		projected := queryInt(t, db, `SELECT count(*) FROM ctj_order_events`)
		return n, fmt.Sprintf("%d of %d leads delivered, %d pending in the queue, %d of %d call events projected",
			n, len(implied), pending, projected, r.logged)
	}
	waitUntil(t, limit, "every lead delivered", func() (bool, string) {
		n, state := delivered()
		return n >= len(implied), state
	})
	r.projected = queryInt(t, db, `SELECT count(*) FROM ctj_order_events`)
	if r.projected != r.logged {
		t.Errorf("the projection folded %d call events, the log holds %d", r.projected, r.logged)
	}
	// Every decided send is one the logged events qualify for, delivered.
	rows, err = db.Query(`SELECT key, status FROM ctj_decisions WHERE decision = 'send'`)
	if err != nil {
		t.Fatal(err)
	}
	decided := map[string]bool{}
	for rows.Next() {
		var key, status string
		if err := rows.Scan(&key, &status); err != nil {
			t.Fatal(err)
		}
		decided[key] = true
		if status == "delivered" {
			r.delivered++
		}
		if !implied[key] {
			t.Errorf("lead %s was decided but the logged events do not qualify for it", key)
		} else if status != "delivered" {
			t.Errorf("lead %s: status %s, want delivered", key, status)
		}
	}
	rows.Close()
	for key := range implied {
		if !decided[key] {
			t.Errorf("lead %s: no send decision", key)
		}
	}
	if n := queryInt(t, db, `SELECT count(*) FROM ctj_poison`); n != 0 {
		t.Errorf("%d log records went to the poison table", n)
	}

	time.Sleep(settle)
	perKey := requestsPerKey(fake.Requests())
	for key, k := range perKey {
		r.requests += k.requests
		r.accepted += len(k.accepted)
		if !implied[key] {
			t.Errorf("Calltouch got %d requests for %s, a key no logged event qualifies for", k.requests, key)
		}
	}
	for key := range implied {
		if k := perKey[key]; k == nil || len(k.accepted) == 0 {
			t.Errorf("lead %s: Calltouch never accepted it", key)
		}
	}
	var unexplained []string
	r.doubles, unexplained, r.windows = doubleSends(perKey, kills)
	for _, u := range unexplained {
		t.Errorf("double send outside the crash window (no SIGKILL of the serve that sent the first acceptance within %s after it): %s", crashWindow, u)
	}
	return r
}

// recordDelays describes how long after Calltouch's answer each try's
// record transaction began (the log row's created_at is its transaction's
// start): the larger part of the double-send window, which lasts until
// that transaction commits.
func recordDelays(t *testing.T, db *sql.DB) string {
	t.Helper()
	var p50, p90, p100 sql.NullFloat64
	var n int
	err := db.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.9) WITHIN GROUP (ORDER BY d), max(d), count(*)
		FROM (SELECT 1000 * extract(epoch FROM created_at - ((payload->>'at')::timestamptz AT TIME ZONE 'UTC'))
			- (payload->>'duration_ms')::float8 AS d FROM ctj_log WHERE payload->>'type' = 'delivery.tried') s`).Scan(&p50, &p90, &p100, &n)
	if err != nil {
		t.Fatalf("record delays: %v", err)
	}
	return fmt.Sprintf("the record transaction of a try began %.0f ms (median), %.0f ms (90th percentile), %.0f ms (max) after the answer, over %d tries",
		p50.Float64, p90.Float64, p100.Float64, n)
}
