// Package tests holds the end-to-end tests: they build the real binary,
// run `ctjournal serve` against a fresh PostgreSQL database and a fake
// Calltouch, and talk to it only through its HTTP API and CLI.
//
// PostgreSQL must accept postgres@127.0.0.1:5432 without a password.
package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// adminURL is the maintenance database the harness creates test databases from.
const adminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// dbPrefix names every database the suite creates: ctj_e2e_<pid>_<random>,
// so a later run can recognise and drop what a killed run left behind.
const dbPrefix = "ctj_e2e_"

// waitLimit bounds every wait for something to happen; a test that waits
// longer fails with what it was waiting for. It is generous because the
// suite may share a small machine, and PostgreSQL, with other work.
const waitLimit = 30 * time.Second

// settle is how long "nothing else happens" is given to be disproved.
const settle = 500 * time.Millisecond

// binary is the ctjournal built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on engines and the fake; let more of them wait
	// at once than the machine has cores, unless -parallel was given.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// The binary's path deliberately avoids the word ctjournal, so that
	// someone stopping their own engine by name (pkill -f "ctjournal serve")
	// does not stop the suite's engines too.
	dir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "e2e-engine")
	if err := buildBinary(binary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ctjournal failed:", err)
		return 1
	}
	dropAbandonedDatabases()
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = max(code, 1)
	}
	return code
}

// buildBinary builds cmd/ctjournal from the module root; flags go to
// go build.
func buildBinary(out string, flags ...string) error {
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), "ctjournal/cmd/ctjournal")...)
	cmd.Dir = moduleRoot()
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, output)
	}
	return nil
}

// dropAbandonedDatabases drops test databases left by a run killed before
// its cleanup: their creating process is gone and nobody is connected.
func dropAbandonedDatabases() {
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return
	}
	defer db.Close()
	rows, err := db.Query(`SELECT datname FROM pg_database d WHERE datname LIKE 'ctj\_e2e\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, dbPrefix), "_")
		pid, err := strconv.Atoi(pidText)
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	}
}

// engineOption changes how startEngine runs serve.
type engineOption func(env map[string]string)

// withEnv sets one environment variable of serve (empty: unset it).
func withEnv(name, value string) engineOption {
	return func(env map[string]string) { env[name] = value }
}

// onEmbeddedStore runs serve on the embedded store in dir: DATABASE_URL
// unset, CTJ_DATA_DIR set.
func onEmbeddedStore(dir string) engineOption { return withEnv("CTJ_DATA_DIR", dir) }

// engine is one running `ctjournal serve` on its own database, with a fake
// Calltouch, and the HTTP helpers the tests talk to it with. Helpers fail
// the test t; subtests and tests sharing an engine use their own view,
// e.on(t).
type engine struct {
	t *testing.T
	*process
}

// on is a view of the same engine that fails t instead.
func (e *engine) on(t *testing.T) *engine { return &engine{t: t, process: e.process} }

// process is one serve and what the views of it share. Its methods report
// errors instead of failing a test, so that TestMain can run one too.
type process struct {
	dbName      string
	dbURL       string
	env         map[string]string
	fake        *calltouchfake.Server
	client      *http.Client
	ingestToken string // sent with POST /v1/events when set
	adminToken  string // sent with every other /v1/ request when set

	mu      sync.Mutex
	addr    string
	proc    *exec.Cmd
	exited  chan struct{}
	stderr  *syncBuffer
	bodies  bytes.Buffer // every response body the tests received
	logsAll bytes.Buffer // stderr of every serve run, restarts included
	// serverErrors lists every answer no request may get (serverError),
	// whoever sent it; the test owning the engine fails on any.
	serverErrors []string
}

// defaultEnv is serve's environment in the tests: quick retries, no rate
// limit, a short Calltouch timeout, the fake Calltouch's host allowed
// besides Calltouch's own; opts change it.
func defaultEnv(opts ...engineOption) map[string]string {
	env := map[string]string{
		"CTJ_RETRY_BASE":              "50ms",
		"CTJ_RETRY_MAX":               "200ms",
		"CTJ_CALLTOUCH_RPS":           "0",
		"CTJ_CALLTOUCH_TIMEOUT":       "2s",
		"CTJ_CALLTOUCH_ALLOWED_HOSTS": "127.0.0.1,*.calltouch.ru",
	}
	for _, o := range opts {
		o(env)
	}
	return env
}

// launch creates a database and a fake Calltouch and starts serve on them.
func launch(env map[string]string) (*process, error) {
	p := &process{
		env:         env,
		client:      newClient(),
		ingestToken: env["CTJ_INGEST_TOKEN"],
		adminToken:  env["CTJ_ADMIN_TOKEN"],
		stderr:      &syncBuffer{},
	}
	if env["CTJ_DATA_DIR"] == "" { // on the embedded store otherwise (onEmbeddedStore)
		p.dbName = fmt.Sprintf("%s%d_%s", dbPrefix, os.Getpid(), randomHex(6))
		if err := adminExec(`CREATE DATABASE "` + p.dbName + `"`); err != nil {
			return nil, fmt.Errorf("create database %s (is PostgreSQL up on 127.0.0.1:5432?): %w", p.dbName, err)
		}
		p.dbURL = "postgres://postgres@127.0.0.1:5432/" + p.dbName + "?sslmode=disable"
	}
	p.fake = calltouchfake.New()
	if err := p.start(); err != nil {
		return p, errors.Join(err, p.shutdown())
	}
	return p, nil
}

// shutdown stops serve (SIGTERM, exit 0), the fake, and drops the database.
func (p *process) shutdown() error {
	err := p.stop()
	if p.fake != nil {
		p.fake.Close()
	}
	if p.dbName != "" {
		if dropErr := adminExec(`DROP DATABASE IF EXISTS "` + p.dbName + `" WITH (FORCE)`); dropErr != nil {
			err = errors.Join(err, fmt.Errorf("drop database %s: %w", p.dbName, dropErr))
		}
	}
	return err
}

// newClient is the HTTP client of one engine. It sends a few requests at
// a time: each request in flight holds one of the engine's PostgreSQL
// connections, and the suite shares PostgreSQL with whatever else runs.
func newClient() *http.Client {
	return &http.Client{
		Timeout:   waitLimit,
		Transport: &http.Transport{MaxConnsPerHost: 6, MaxIdleConnsPerHost: 6},
	}
}

// adminExec runs one statement on the maintenance database, holding a
// connection only for as long as it takes.
func adminExec(query string) error {
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(query)
	return err
}

// startEngine starts serve on a fresh database and a fake Calltouch; both
// are torn down when the test ends, serve with SIGTERM and a check that it
// exits 0.
func startEngine(t *testing.T, opts ...engineOption) *engine {
	t.Helper()
	p, err := launch(defaultEnv(opts...))
	if err != nil {
		t.Fatalf("start ctjournal serve: %v", err)
	}
	e := &engine{t: t, process: p}
	t.Cleanup(func() {
		if err := errors.Join(p.shutdown(), p.leakedToken(), p.serverErrorsSeen(), p.openAPIViolations()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", e.logs())
		}
	})
	return e
}

// shared is the engine that tests with default settings share: each uses
// its own widgets, orders and fake Calltouch, so they cannot see each
// other. Sharing keeps the suite's PostgreSQL connections few.
var shared struct {
	once sync.Once
	p    *process
	err  error
}

// sharedEngine is a view of the shared engine, started on first use and
// stopped by TestMain.
func sharedEngine(t *testing.T) *engine {
	t.Helper()
	shared.once.Do(func() { shared.p, shared.err = launch(defaultEnv()) })
	if shared.err != nil {
		t.Fatalf("start the shared ctjournal serve: %v", shared.err)
	}
	e := &engine{t: t, process: shared.p}
	t.Cleanup(func() {
		if t.Failed() {
			logs := e.logs()
			t.Logf("shared serve's stderr (last 16 KiB):\n%s", logs[max(0, len(logs)-16<<10):])
		}
	})
	return e
}

// stopShared stops the shared engine, if a test started it.
func stopShared() error {
	if shared.p == nil {
		return nil
	}
	err := errors.Join(shared.p.shutdown(), shared.p.leakedToken(), shared.p.serverErrorsSeen(), shared.p.openAPIViolations())
	if err != nil {
		err = fmt.Errorf("shared serve: %w\nstderr:\n%s", err, shared.p.logs())
	}
	return err
}

// another starts a second serve on the same database and fake Calltouch,
// stopped (SIGTERM, exit 0) when t ends.
func (e *engine) another(t *testing.T) *engine {
	t.Helper()
	o := &engine{t: t, process: &process{
		dbURL:       e.dbURL,
		env:         e.env,
		fake:        e.fake,
		client:      e.client,
		ingestToken: e.ingestToken,
		adminToken:  e.adminToken,
		stderr:      &syncBuffer{},
	}}
	if err := o.start(); err != nil {
		t.Fatalf("start a second ctjournal serve: %v", err)
	}
	t.Cleanup(func() {
		if err := errors.Join(o.stop(), o.serverErrorsSeen(), o.openAPIViolations()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("second serve's stderr:\n%s", o.logs())
		}
	})
	return o
}

// newFake starts another fake Calltouch, closed when the test ends, for
// tests that share an engine but must count their own requests.
func (e *engine) newFake(t *testing.T) *calltouchfake.Server {
	f := calltouchfake.New()
	t.Cleanup(f.Close)
	return f
}

// restart stops serve (SIGTERM, exit 0) and starts it again on the same
// database.
func (e *engine) restart() {
	e.t.Helper()
	if err := e.stop(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.start(); err != nil {
		e.t.Fatalf("restart ctjournal serve: %v", err)
	}
}

// start runs serve and waits until /readyz answers 200. It keeps the
// address of a previous run when it can (a restart), else picks a free
// port. It tries again when the port was taken meanwhile, or PostgreSQL
// had no connection to spare for a moment.
func (p *process) start() error {
	for attempt := 1; ; attempt++ {
		p.mu.Lock()
		if p.addr == "" || attempt > 1 {
			addr, err := freeAddr()
			if err != nil {
				p.mu.Unlock()
				return err
			}
			p.addr = addr
		}
		p.mu.Unlock()
		err := p.startOnce()
		if err == nil {
			return nil
		}
		transient := strings.Contains(err.Error(), "address already in use") ||
			strings.Contains(err.Error(), "too many clients")
		if attempt >= 5 || !transient {
			return fmt.Errorf("ctjournal serve did not become ready: %w", err)
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
}

func (p *process) startOnce() error {
	cmd := exec.Command(binary, "serve")
	cmd.Env = p.environ()
	stderr := &syncBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.mu.Lock()
	p.proc, p.exited, p.stderr = cmd, exited, stderr
	p.mu.Unlock()

	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			p.collectLogs()
			return fmt.Errorf("serve exited with %v before it was ready: %s", cmd.ProcessState, stderr)
		default:
		}
		resp, err := p.client.Get(p.url("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	return fmt.Errorf("GET /readyz was not 200 within %s; stderr:\n%s", waitLimit, p.logs())
}

// environ is the process environment for serve and the CLI: this
// process's, without any CTJ_ setting, plus the engine's.
func (p *process) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CTJ_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	vars := maps.Clone(p.env)
	vars["DATABASE_URL"] = p.dbURL
	p.mu.Lock()
	vars["CTJ_HTTP_ADDR"] = p.addr
	p.mu.Unlock()
	for k, v := range vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// stop sends SIGTERM and requires a clean exit within 20 s.
func (p *process) stop() error {
	p.mu.Lock()
	cmd, exited := p.proc, p.exited
	p.proc = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer p.collectLogs()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to serve: %w", err)
	}
	select {
	case <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("serve exited with code %d after SIGTERM, want 0", code)
		}
		return nil
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("serve did not exit within 20 s of SIGTERM")
	}
}

// kill ends serve at once (a failed start).
func (p *process) kill() {
	p.mu.Lock()
	cmd, exited := p.proc, p.exited
	p.proc = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-exited
		p.collectLogs()
	}
}

func (p *process) collectLogs() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logsAll.WriteString(p.stderr.String())
	p.stderr = &syncBuffer{}
}

// logs is everything serve wrote to stderr so far, over every run.
func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logsAll.String() + p.stderr.String()
}

// responses is every response body the tests received from the engine.
func (p *process) responses() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies.String()
}

func (p *process) url(path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.addr + path
}

// do sends one request and returns the status and the body; headers are
// name, value pairs (an empty value removes the header). The ingest or
// admin token is sent when the engine has one.
func (e *engine) do(method, path, contentType string, body []byte, headers ...string) (int, []byte) {
	e.t.Helper()
	status, out, err := e.send(method, path, contentType, body, headers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return status, out
}

// send is do without stopping the test, for goroutines of a test; an
// answer no request may get fails the test all the same.
func (e *engine) send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	e.t.Helper()
	status, out, err := e.process.send(method, path, contentType, body, headers...)
	if err == nil && serverError(status) {
		e.t.Errorf("%s %s answered %d, a bug whatever the request: %s", method, path, status, out)
	}
	return status, out, err
}

// serverError tells an answer no request may get: a 500 (or any 5xx but
// 503) is a bug (docs/api.md); a 503 says the store is away, which some
// tests bring about.
func serverError(status int) bool {
	return status >= 500 && status != http.StatusServiceUnavailable
}

// noteAnswer keeps an answer the tests got: its body, and the request when
// the answer is a server error.
func (p *process) noteAnswer(method, path string, status int, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bodies.Write(body)
	p.bodies.WriteByte('\n')
	if serverError(status) {
		p.serverErrors = append(p.serverErrors, fmt.Sprintf("%s %s: %d %s", method, path, status, bytes.TrimSpace(body)))
	}
}

// serverErrorsSeen reports the server errors serve answered so far.
func (p *process) serverErrorsSeen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.serverErrors); n > 0 {
		return fmt.Errorf("serve answered %d requests with a server error, a bug whatever the request; the first: %s",
			n, strings.Join(p.serverErrors[:min(n, 5)], "; "))
	}
	return nil
}

// send is one request as do sends it, reporting errors instead of failing
// a test; it notes every answer (noteAnswer).
func (p *process) send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, p.url(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	token := p.adminToken
	if method == http.MethodPost && path == "/v1/events" {
		token = p.ingestToken
	}
	if token != "" && strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	p.noteAnswer(method, path, resp.StatusCode, out)
	p.checkAPI(req, body, resp, out)
	return resp.StatusCode, out, nil
}

// doJSON sends v as JSON (nil: no body) and decodes a JSON object answer.
func (e *engine) doJSON(method, path string, v any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	var body []byte
	ct := ""
	if v != nil {
		body = mustJSON(e.t, v)
		ct = "application/json"
	}
	status, out := e.do(method, path, ct, body, headers...)
	return status, decodeObject(e.t, method+" "+path, out)
}

// putPolicy sets a widget's policy and requires 200; it returns the answer.
func (e *engine) putPolicy(widget string, policy map[string]any) map[string]any {
	e.t.Helper()
	status, got := e.doJSON(http.MethodPut, "/v1/widgets/"+widget+"/calltouch", policy)
	if status != http.StatusOK {
		e.t.Fatalf("PUT policy of %s: %d %v, want 200", widget, status, got)
	}
	return got
}

// postEvents posts one envelope or a slice of them as JSON.
func (e *engine) postEvents(body any) (int, map[string]any) {
	e.t.Helper()
	return e.doJSON(http.MethodPost, "/v1/events", body)
}

// mustPost posts events and requires 202 with all of them accepted.
func (e *engine) mustPost(events ...event) {
	e.t.Helper()
	var body any = events
	if len(events) == 1 {
		body = events[0]
	}
	status, got := e.postEvents(body)
	if status != http.StatusAccepted || got["accepted"] != float64(len(events)) {
		e.t.Fatalf("POST /v1/events: %d %v, want 202 with %d accepted", status, got, len(events))
	}
}

// postRaw posts bytes as they are; headers are name, value pairs.
func (e *engine) postRaw(contentType string, body []byte, headers ...string) (int, map[string]any) {
	e.t.Helper()
	status, out := e.do(http.MethodPost, "/v1/events", contentType, body, headers...)
	return status, decodeObject(e.t, "POST /v1/events", out)
}

// order fetches GET /v1/orders/{id}; the explanation is zero unless 200.
func (e *engine) order(id string) (int, explanation) {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/v1/orders/"+url.PathEscape(id), "", nil)
	var x explanation
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &x); err != nil {
			e.t.Fatalf("GET /v1/orders/%s: %v\n%s", id, err, body)
		}
	}
	return status, x
}

// mustOrder fetches an order that must exist.
func (e *engine) mustOrder(id string) explanation {
	e.t.Helper()
	status, x := e.order(id)
	if status != http.StatusOK {
		e.t.Fatalf("GET /v1/orders/%s: %d, want 200", id, status)
	}
	return x
}

// leads fetches GET /v1/leads?query and requires 200.
func (e *engine) leads(query string) leadPage {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/v1/leads?"+query, "", nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET /v1/leads?%s: %d %s", query, status, body)
	}
	var p leadPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatalf("GET /v1/leads?%s: %v\n%s", query, err, body)
	}
	return p
}

// waitForRequests waits until the engine's fake got at least n requests.
func (e *engine) waitForRequests(n int) []calltouchfake.Request {
	e.t.Helper()
	return waitForRequests(e.t, e.fake, n)
}

func waitForRequests(t *testing.T, fake *calltouchfake.Server, n int) []calltouchfake.Request {
	t.Helper()
	if !fake.WaitFor(n, waitLimit) {
		t.Fatalf("the fake Calltouch got %d requests within %s, want at least %d", fake.Count(), waitLimit, n)
	}
	return fake.Requests()
}

// waitForStatus waits until the order's decision on attempt (0: the order
// itself) has the status, and returns it.
func (e *engine) waitForStatus(orderID string, attempt int, status string) decision {
	e.t.Helper()
	var found decision
	eventually(e.t, fmt.Sprintf("order %s, attempt %d: status %s", orderID, attempt, status), func() (bool, string) {
		code, x := e.order(orderID)
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/orders/%s: %d", orderID, code)
		}
		d, ok := x.decision(attempt)
		if !ok {
			return false, fmt.Sprintf("no decision yet; explanation %+v", x)
		}
		found = d
		return d.Status == status, fmt.Sprintf("decision %+v", d)
	})
	return found
}

// waitForLead waits until the decision with the lead key has the status.
func (e *engine) waitForLead(key, status string) decision {
	e.t.Helper()
	orderID, _, _ := strings.Cut(key, "~")
	var found decision
	eventually(e.t, fmt.Sprintf("lead %s: status %s", key, status), func() (bool, string) {
		code, x := e.order(orderID)
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/orders/%s: %d", orderID, code)
		}
		for _, d := range x.Decisions {
			if d.Key != nil && *d.Key == key {
				found = d
				return d.Status == status, fmt.Sprintf("decision %+v", d)
			}
		}
		return false, fmt.Sprintf("no decision with key %s; explanation %+v", key, x)
	})
	return found
}

// waitForEvents waits until the projection has folded n events of the order.
func (e *engine) waitForEvents(orderID string, n int) explanation {
	e.t.Helper()
	var x explanation
	eventually(e.t, fmt.Sprintf("order %s with %d events", orderID, n), func() (bool, string) {
		var code int
		code, x = e.order(orderID)
		return code == http.StatusOK && len(x.Events) >= n, fmt.Sprintf("%d %+v", code, x)
	})
	return x
}

// cli runs another ctjournal command against the engine's database.
func (e *engine) cli(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = e.environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("ctjournal %v did not end within %s", args, waitLimit)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.t.Fatalf("ctjournal %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// eventually polls cond until it holds, failing the test after waitLimit
// with what it waited for and the last state cond described.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", waitLimit, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- the API's answers, as the tests read them ---

type explanation struct {
	OrderID       string     `json:"order_id"`
	WidgetID      string     `json:"widget_id"`
	PolicyVersion *int       `json:"policy_version"`
	Events        []logEvent `json:"events"`
	Decisions     []decision `json:"decisions"`
}

// decision returns the decision on attempt (0: taken at order time).
func (x explanation) decision(attempt int) (decision, bool) {
	for _, d := range x.Decisions {
		if (d.Attempt == nil && attempt == 0) || (d.Attempt != nil && *d.Attempt == attempt) {
			return d, true
		}
	}
	return decision{}, false
}

type logEvent struct {
	Position   int64     `json:"position"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Attempt    *int      `json:"attempt"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Note       *string   `json:"note"`
}

type decision struct {
	Attempt       *int              `json:"attempt"`
	Decision      string            `json:"decision"`
	Key           *string           `json:"key"`
	Reason        string            `json:"reason"`
	Warnings      []string          `json:"warnings"`
	PolicyVersion *int              `json:"policy_version"`
	DecidedAt     time.Time         `json:"decided_at"`
	Status        string            `json:"status"`
	Payload       map[string]string `json:"payload"`
	Tries         []try             `json:"tries"`
	History       []leadEvent       `json:"history"`
}

func (d decision) String() string {
	b, _ := json.Marshal(d)
	return string(b)
}

type try struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	HTTPStatus *int      `json:"http_status"`
	Response   string    `json:"response"`
	Error      *string   `json:"error"`
	Outcome    string    `json:"outcome"` // ours: delivered, transient, refused
}

// leadEvent is a give-up or a redelivery request (history, not tries).
type leadEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Reason string    `json:"reason"`
}

type leadPage struct {
	Leads      []lead  `json:"leads"`
	NextCursor *string `json:"next_cursor"`
}

type lead struct {
	Key         *string    `json:"key"`
	OrderID     string     `json:"order_id"`
	WidgetID    string     `json:"widget_id"`
	Attempt     *int       `json:"attempt"`
	Decision    string     `json:"decision"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	DecidedAt   time.Time  `json:"decided_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// --- policies ---

// testToken is the Calltouch token of the policies the tests set, and
// rotatedToken the one a test rotates to; they must never come back from
// the engine, in an answer or in its log.
const (
	testToken    = "ct-token-7f3a9c21e4b85d60"
	rotatedToken = "ct-token-rotated-000000000042"
)

// leakedToken reports a Calltouch token found in serve's log or in an
// answer the tests got from it.
func (p *process) leakedToken() error {
	for _, secret := range []string{testToken, rotatedToken} {
		if strings.Contains(p.logs(), secret) {
			return fmt.Errorf("serve's log contains the Calltouch token %s", secret)
		}
		if strings.Contains(p.responses(), secret) {
			return fmt.Errorf("an API answer contained the Calltouch token %s", secret)
		}
	}
	return nil
}

// policyFor is a valid policy sending to fake, with overrides applied (a nil
// override removes the field; "{fake}" in a server stands for fake's URL).
func policyFor(fake *calltouchfake.Server, overrides map[string]any) map[string]any {
	p := merge(map[string]any{
		"enabled": true,
		"site_id": "12345",
		"server":  fake.URL(),
		"token":   testToken,
		"hook":    "after_call",
	}, overrides)
	if server, ok := p["server"].(string); ok {
		p["server"] = strings.ReplaceAll(server, "{fake}", fake.URL())
	}
	return p
}

func merge(base, overrides map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range overrides {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// --- event builders ---

// event is one envelope of POST /v1/events.
type event map[string]any

// testPhone is the client phone of ordered events, as a person types it;
// wantPhone is how Calltouch must get it.
const (
	testPhone = "+7 (916) 123-45-67"
	wantPhone = "79161234567"
)

func newEvent(typ, order, widget string, data map[string]any) event {
	return event{
		"event_id":    newUUID(),
		"type":        typ,
		"order_id":    order,
		"widget_id":   widget,
		"occurred_at": time.Now().UTC().Format(time.RFC3339),
		"data":        data,
	}
}

// ordered is a callback order with a client phone and a Calltouch session
// id; data overrides those (a nil value removes the field).
func ordered(order, widget string, data map[string]any) event {
	return newEvent("call.ordered", order, widget, merge(map[string]any{
		"client_phone":         testPhone,
		"calltouch_session_id": "sess-" + order,
	}, data))
}

func dialed(order, widget string, n int) event {
	return newEvent("call.dialed", order, widget, map[string]any{"attempt": n})
}

func answered(order, widget string, n int) event {
	return newEvent("call.answered", order, widget, map[string]any{"attempt": n})
}

func failed(order, widget string, n int, reason string) event {
	data := map[string]any{"attempt": n}
	if reason != "" {
		data["reason"] = reason
	}
	return newEvent("call.failed", order, widget, data)
}

func lastAttempt(order, widget string, n int) event {
	return newEvent("call.last_attempt", order, widget, map[string]any{"attempt": n})
}

// with returns a copy of the envelope with one top-level field set.
func (ev event) with(field string, v any) event {
	out := maps.Clone(ev)
	out[field] = v
	return out
}

// withData returns a copy with one data field set (nil: removed).
func (ev event) withData(field string, v any) event {
	out := maps.Clone(ev)
	out["data"] = merge(ev["data"].(map[string]any), map[string]any{field: v})
	if v == nil {
		delete(out["data"].(map[string]any), field)
	}
	return out
}

// --- small helpers ---

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freeAddr is a 127.0.0.1 address with a port free at the moment.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	return b
}

// decodeObject decodes a JSON object answer; an empty body is nil.
func decodeObject(t *testing.T, what string, body []byte) map[string]any {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: the answer is not a JSON object: %v\n%s", what, err, body)
	}
	return m
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
