// Package tests holds the end-to-end tests: they build the real binary,
// run `ctjournal serve` against a fresh PostgreSQL database and a fake
// Calltouch, and talk to it only through its HTTP API and CLI.
//
// PostgreSQL must accept postgres@127.0.0.1:5432 without a password.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
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
const AdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// dbPrefix names every database the suite creates: ctj_e2e_<pid>_<random>,
// so a later run can recognise and drop what a killed run left behind.
const DBPrefix = "ctj_e2e_"

// waitLimit bounds every wait for something to happen; a test that waits
// longer fails with what it was waiting for. It is generous because the
// suite may share a small machine, and PostgreSQL, with other work.
const WaitLimit = 30 * time.Second

// settle is how long "nothing else happens" is given to be disproved.
const Settle = 500 * time.Millisecond

// binary is the ctjournal built once by TestMain.
var Binary string

func Run(m *testing.M) int {
	// The binary's path deliberately avoids the word ctjournal, so that
	// someone stopping their own engine by name (pkill -f "ctjournal serve")
	// does not stop the suite's engines too.
	dir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	Binary = filepath.Join(dir, "e2e-engine")
	if err := BuildBinary(Binary); err != nil {
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
func BuildBinary(out string, flags ...string) error {
	root := ".."
	if gomod, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if path := strings.TrimSpace(string(gomod)); path != "" && path != os.DevNull {
			root = filepath.Dir(path)
		}
	}
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), "ctjournal/cmd/ctjournal")...)
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, output)
	}
	return nil
}

// dropAbandonedDatabases drops test databases left by a run killed before
// its cleanup: their creating process is gone and nobody is connected.
func dropAbandonedDatabases() {
	db, err := sql.Open("postgres", AdminURL)
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
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, DBPrefix), "_")
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
type Option func(env map[string]string)

// withEnv sets one environment variable of serve (empty: unset it).
func WithEnv(name, value string) Option {
	return func(env map[string]string) { env[name] = value }
}

// onEmbeddedStore runs serve on the embedded store in dir: DATABASE_URL
// unset, CTJ_DATA_DIR set.
func OnEmbeddedStore(dir string) Option { return WithEnv("CTJ_DATA_DIR", dir) }

// engine is one running `ctjournal serve` on its own database, with a fake
// Calltouch, and the HTTP helpers the tests talk to it with. Helpers fail
// the test t; subtests and tests sharing an engine use their own view,
// e.on(t).
type Engine struct {
	T *testing.T
	*Process
}

// on is a view of the same engine that fails t instead.
func (e *Engine) On(t *testing.T) *Engine { return &Engine{T: t, Process: e.Process} }

// process is one serve and what the views of it share. Its methods report
// errors instead of failing a test, so that TestMain can run one too.
type Process struct {
	DBName      string
	DBURL       string
	Env         map[string]string
	Fake        *calltouchfake.Server
	Client      *http.Client
	ingestToken string // sent with POST /v1/events when set
	adminToken  string // sent with every other /v1/ request when set

	mu      sync.Mutex
	addr    string
	proc    *exec.Cmd
	exited  chan struct{}
	Stderr  *SyncBuffer
	bodies  bytes.Buffer // every response body the tests received
	logsAll bytes.Buffer // stderr of every serve run, restarts included
	// serverErrors lists every answer no request may get (serverError),
	// whoever sent it; the test owning the engine fails on any.
	serverErrors []string
}

// defaultEnv is serve's environment in the tests: quick retries, no rate
// limit, a short Calltouch timeout, the fake Calltouch's host allowed
// besides Calltouch's own; opts change it.
func DefaultEnv(opts ...Option) map[string]string {
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
func launch(env map[string]string) (*Process, error) {
	p := &Process{
		Env:         env,
		Client:      NewClient(),
		ingestToken: env["CTJ_INGEST_TOKEN"],
		adminToken:  env["CTJ_ADMIN_TOKEN"],
		Stderr:      &SyncBuffer{},
	}
	if env["CTJ_DATA_DIR"] == "" { // on the embedded store otherwise (onEmbeddedStore)
		p.DBName = fmt.Sprintf("%s%d_%s", DBPrefix, os.Getpid(), RandomHex(6))
		if err := AdminExec(`CREATE DATABASE "` + p.DBName + `"`); err != nil {
			return nil, fmt.Errorf("create database %s (is PostgreSQL up on 127.0.0.1:5432?): %w", p.DBName, err)
		}
		p.DBURL = "postgres://postgres@127.0.0.1:5432/" + p.DBName + "?sslmode=disable"
	}
	p.Fake = calltouchfake.New()
	if err := p.Start(); err != nil {
		return p, errors.Join(err, p.Shutdown())
	}
	return p, nil
}

// shutdown stops serve (SIGTERM, exit 0), the fake, and drops the database.
func (p *Process) Shutdown() error {
	err := p.Stop()
	if p.Fake != nil {
		p.Fake.Close()
	}
	if p.DBName != "" {
		if dropErr := AdminExec(`DROP DATABASE IF EXISTS "` + p.DBName + `" WITH (FORCE)`); dropErr != nil {
			err = errors.Join(err, fmt.Errorf("drop database %s: %w", p.DBName, dropErr))
		}
	}
	return err
}

// newClient is the HTTP client of one engine. It sends a few requests at
// a time: each request in flight holds one of the engine's PostgreSQL
// connections, and the suite shares PostgreSQL with whatever else runs.
func NewClient() *http.Client {
	return &http.Client{
		Timeout:   WaitLimit,
		Transport: &http.Transport{MaxConnsPerHost: 6, MaxIdleConnsPerHost: 6},
	}
}

// adminExec runs one statement on the maintenance database, holding a
// connection only for as long as it takes.
func AdminExec(query string) error {
	db, err := sql.Open("postgres", AdminURL)
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
func Start(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	p, err := launch(DefaultEnv(opts...))
	if err != nil {
		t.Fatalf("start ctjournal serve: %v", err)
	}
	e := &Engine{T: t, Process: p}
	t.Cleanup(func() {
		if err := errors.Join(p.Shutdown(), p.leakedToken(), p.serverErrorsSeen(), p.openAPIViolations()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", e.Logs())
		}
	})
	return e
}

// shared is the engine that tests with default settings share: each uses
// its own widgets, orders and fake Calltouch, so they cannot see each
// other. Sharing keeps the suite's PostgreSQL connections few.
var shared struct {
	once sync.Once
	p    *Process
	err  error
}

// sharedEngine is a view of the shared engine, started on first use and
// stopped by TestMain.
func Shared(t *testing.T) *Engine {
	t.Helper()
	shared.once.Do(func() { shared.p, shared.err = launch(DefaultEnv()) })
	if shared.err != nil {
		t.Fatalf("start the shared ctjournal serve: %v", shared.err)
	}
	e := &Engine{T: t, Process: shared.p}
	t.Cleanup(func() {
		if t.Failed() {
			logs := e.Logs()
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
	err := errors.Join(shared.p.Shutdown(), shared.p.leakedToken(), shared.p.serverErrorsSeen(), shared.p.openAPIViolations())
	if err != nil {
		err = fmt.Errorf("shared serve: %w\nstderr:\n%s", err, shared.p.Logs())
	}
	return err
}

// another starts a second serve on the same database and fake Calltouch,
// stopped (SIGTERM, exit 0) when t ends.
func (e *Engine) Another(t *testing.T) *Engine {
	t.Helper()
	o := &Engine{T: t, Process: &Process{
		DBURL:       e.DBURL,
		Env:         e.Env,
		Fake:        e.Fake,
		Client:      e.Client,
		ingestToken: e.ingestToken,
		adminToken:  e.adminToken,
		Stderr:      &SyncBuffer{},
	}}
	if err := o.Start(); err != nil {
		t.Fatalf("start a second ctjournal serve: %v", err)
	}
	t.Cleanup(func() {
		if err := errors.Join(o.Stop(), o.serverErrorsSeen(), o.openAPIViolations()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("second serve's stderr:\n%s", o.Logs())
		}
	})
	return o
}

// newFake starts another fake Calltouch, closed when the test ends, for
// tests that share an engine but must count their own requests.
func (e *Engine) NewFake(t *testing.T) *calltouchfake.Server {
	f := calltouchfake.New()
	t.Cleanup(f.Close)
	return f
}

// restart stops serve (SIGTERM, exit 0) and starts it again on the same
// database.
func (e *Engine) Restart() {
	e.T.Helper()
	if err := e.Stop(); err != nil {
		e.T.Fatal(err)
	}
	if err := e.Start(); err != nil {
		e.T.Fatalf("restart ctjournal serve: %v", err)
	}
}

// start runs serve and waits until /readyz answers 200. It keeps the
// address of a previous run when it can (a restart), else picks a free
// port. It tries again when the port was taken meanwhile, or PostgreSQL
// had no connection to spare for a moment.
func (p *Process) Start() error {
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

func (p *Process) startOnce() error {
	cmd := exec.Command(Binary, "serve")
	cmd.Env = p.Environ()
	stderr := &SyncBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.mu.Lock()
	p.proc, p.exited, p.Stderr = cmd, exited, stderr
	p.mu.Unlock()

	deadline := time.Now().Add(WaitLimit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			p.collectLogs()
			return fmt.Errorf("serve exited with %v before it was ready: %s", cmd.ProcessState, stderr)
		default:
		}
		resp, err := p.Client.Get(p.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill()
	return fmt.Errorf("GET /readyz was not 200 within %s; stderr:\n%s", WaitLimit, p.Logs())
}

// environ is the process environment for serve and the CLI: this
// process's, without any CTJ_ setting, plus the engine's.
func (p *Process) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CTJ_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	vars := maps.Clone(p.Env)
	vars["DATABASE_URL"] = p.DBURL
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
func (p *Process) Stop() error {
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
func (p *Process) kill() {
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

func (p *Process) collectLogs() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logsAll.WriteString(p.Stderr.String())
	p.Stderr = &SyncBuffer{}
}

// logs is everything serve wrote to stderr so far, over every run.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logsAll.String() + p.Stderr.String()
}

// responses is every response body the tests received from the engine.
func (p *Process) Responses() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies.String()
}

func (p *Process) URL(path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.addr + path
}

// do sends one request and returns the status and the body; headers are
// name, value pairs (an empty value removes the header). The ingest or
// admin token is sent when the engine has one.
func (e *Engine) Do(method, path, contentType string, body []byte, headers ...string) (int, []byte) {
	e.T.Helper()
	status, out, err := e.Send(method, path, contentType, body, headers...)
	if err != nil {
		e.T.Fatal(err)
	}
	return status, out
}

// send is do without stopping the test, for goroutines of a test; an
// answer no request may get fails the test all the same.
func (e *Engine) Send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	e.T.Helper()
	status, out, err := e.Process.Send(method, path, contentType, body, headers...)
	if err == nil && serverError(status) {
		e.T.Errorf("%s %s answered %d, a bug whatever the request: %s", method, path, status, out)
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
func (p *Process) noteAnswer(method, path string, status int, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bodies.Write(body)
	p.bodies.WriteByte('\n')
	if serverError(status) {
		p.serverErrors = append(p.serverErrors, fmt.Sprintf("%s %s: %d %s", method, path, status, bytes.TrimSpace(body)))
	}
}

// serverErrorsSeen reports the server errors serve answered so far.
func (p *Process) serverErrorsSeen() error {
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
func (p *Process) Send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, p.URL(path), bytes.NewReader(body))
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
	resp, err := p.Client.Do(req)
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
func (e *Engine) DoJSON(method, path string, v any, headers ...string) (int, map[string]any) {
	e.T.Helper()
	var body []byte
	ct := ""
	if v != nil {
		body = MustJSON(e.T, v)
		ct = "application/json"
	}
	status, out := e.Do(method, path, ct, body, headers...)
	return status, DecodeObject(e.T, method+" "+path, out)
}

// putPolicy sets a widget's policy and requires 200; it returns the answer.
func (e *Engine) PutPolicy(widget string, policy map[string]any) map[string]any {
	e.T.Helper()
	status, got := e.DoJSON(http.MethodPut, "/v1/widgets/"+widget+"/calltouch", policy)
	if status != http.StatusOK {
		e.T.Fatalf("PUT policy of %s: %d %v, want 200", widget, status, got)
	}
	return got
}

// postEvents posts one envelope or a slice of them as JSON.
func (e *Engine) PostEvents(body any) (int, map[string]any) {
	e.T.Helper()
	return e.DoJSON(http.MethodPost, "/v1/events", body)
}

// mustPost posts events and requires 202 with all of them accepted.
func (e *Engine) MustPost(events ...Event) {
	e.T.Helper()
	var body any = events
	if len(events) == 1 {
		body = events[0]
	}
	status, got := e.PostEvents(body)
	if status != http.StatusAccepted || got["accepted"] != float64(len(events)) {
		e.T.Fatalf("POST /v1/events: %d %v, want 202 with %d accepted", status, got, len(events))
	}
}

// postRaw posts bytes as they are; headers are name, value pairs.
func (e *Engine) PostRaw(contentType string, body []byte, headers ...string) (int, map[string]any) {
	e.T.Helper()
	status, out := e.Do(http.MethodPost, "/v1/events", contentType, body, headers...)
	return status, DecodeObject(e.T, "POST /v1/events", out)
}

// order fetches GET /v1/orders/{id}; the explanation is zero unless 200.
func (e *Engine) Order(id string) (int, Explanation) {
	e.T.Helper()
	status, body := e.Do(http.MethodGet, "/v1/orders/"+url.PathEscape(id), "", nil)
	var x Explanation
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &x); err != nil {
			e.T.Fatalf("GET /v1/orders/%s: %v\n%s", id, err, body)
		}
	}
	return status, x
}

// mustOrder fetches an order that must exist.
func (e *Engine) MustOrder(id string) Explanation {
	e.T.Helper()
	status, x := e.Order(id)
	if status != http.StatusOK {
		e.T.Fatalf("GET /v1/orders/%s: %d, want 200", id, status)
	}
	return x
}

// leads fetches GET /v1/leads?query and requires 200.
func (e *Engine) Leads(query string) leadPage {
	e.T.Helper()
	status, body := e.Do(http.MethodGet, "/v1/leads?"+query, "", nil)
	if status != http.StatusOK {
		e.T.Fatalf("GET /v1/leads?%s: %d %s", query, status, body)
	}
	var p leadPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.T.Fatalf("GET /v1/leads?%s: %v\n%s", query, err, body)
	}
	return p
}

// waitForRequests waits until the engine's fake got at least n requests.
func (e *Engine) WaitForRequests(n int) []calltouchfake.Request {
	e.T.Helper()
	return WaitForRequests(e.T, e.Fake, n)
}

func WaitForRequests(t *testing.T, fake *calltouchfake.Server, n int) []calltouchfake.Request {
	t.Helper()
	if !fake.WaitFor(n, WaitLimit) {
		t.Fatalf("the fake Calltouch got %d requests within %s, want at least %d", fake.Count(), WaitLimit, n)
	}
	return fake.Requests()
}

// waitForStatus waits until the order's decision on attempt (0: the order
// itself) has the status, and returns it.
func (e *Engine) WaitForStatus(orderID string, attempt int, status string) Decision {
	e.T.Helper()
	var found Decision
	Eventually(e.T, fmt.Sprintf("order %s, attempt %d: status %s", orderID, attempt, status), func() (bool, string) {
		code, x := e.Order(orderID)
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/orders/%s: %d", orderID, code)
		}
		d, ok := x.Decision(attempt)
		if !ok {
			return false, fmt.Sprintf("no decision yet; explanation %+v", x)
		}
		found = d
		return d.Status == status, fmt.Sprintf("decision %+v", d)
	})
	return found
}

// waitForLead waits until the decision with the lead key has the status.
func (e *Engine) WaitForLead(key, status string) Decision {
	e.T.Helper()
	orderID, _, _ := strings.Cut(key, "~")
	var found Decision
	Eventually(e.T, fmt.Sprintf("lead %s: status %s", key, status), func() (bool, string) {
		code, x := e.Order(orderID)
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
func (e *Engine) WaitForEvents(orderID string, n int) Explanation {
	e.T.Helper()
	var x Explanation
	Eventually(e.T, fmt.Sprintf("order %s with %d events", orderID, n), func() (bool, string) {
		var code int
		code, x = e.Order(orderID)
		return code == http.StatusOK && len(x.Events) >= n, fmt.Sprintf("%d %+v", code, x)
	})
	return x
}

// cli runs another ctjournal command against the engine's database.
func (e *Engine) CLI(args ...string) (stdout, stderr string, code int) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Env = e.Environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		e.T.Fatalf("ctjournal %v did not end within %s", args, WaitLimit)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.T.Fatalf("ctjournal %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// eventually polls cond until it holds, failing the test after waitLimit
// with what it waited for and the last state cond described.
func Eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", WaitLimit, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- the API's answers, as the tests read them ---

type Explanation struct {
	OrderID       string     `json:"order_id"`
	WidgetID      string     `json:"widget_id"`
	PolicyVersion *int       `json:"policy_version"`
	Events        []LogEvent `json:"events"`
	Decisions     []Decision `json:"decisions"`
}

// decision returns the decision on attempt (0: taken at order time).
func (x Explanation) Decision(attempt int) (Decision, bool) {
	for _, d := range x.Decisions {
		if (d.Attempt == nil && attempt == 0) || (d.Attempt != nil && *d.Attempt == attempt) {
			return d, true
		}
	}
	return Decision{}, false
}

type LogEvent struct {
	Position   int64     `json:"position"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Attempt    *int      `json:"attempt"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Note       *string   `json:"note"`
}

type Decision struct {
	Attempt       *int              `json:"attempt"`
	Decision      string            `json:"decision"`
	Key           *string           `json:"key"`
	Reason        string            `json:"reason"`
	Warnings      []string          `json:"warnings"`
	PolicyVersion *int              `json:"policy_version"`
	DecidedAt     time.Time         `json:"decided_at"`
	Status        string            `json:"status"`
	Payload       map[string]string `json:"payload"`
	Tries         []Try             `json:"tries"`
	History       []LeadEvent       `json:"history"`
}

func (d Decision) String() string {
	b, _ := json.Marshal(d)
	return string(b)
}

type Try struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	HTTPStatus *int      `json:"http_status"`
	Response   string    `json:"response"`
	Error      *string   `json:"error"`
	Outcome    string    `json:"outcome"` // ours: delivered, transient, refused
}

// leadEvent is a give-up or a redelivery request (history, not tries).
type LeadEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Reason string    `json:"reason"`
}

type leadPage struct {
	Leads      []Lead  `json:"leads"`
	NextCursor *string `json:"next_cursor"`
}

type Lead struct {
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
	TestToken    = "ct-token-7f3a9c21e4b85d60"
	RotatedToken = "ct-token-rotated-000000000042"
)

// leakedToken reports a Calltouch token found in serve's log or in an
// answer the tests got from it.
func (p *Process) leakedToken() error {
	for _, secret := range []string{TestToken, RotatedToken} {
		if strings.Contains(p.Logs(), secret) {
			return fmt.Errorf("serve's log contains the Calltouch token %s", secret)
		}
		if strings.Contains(p.Responses(), secret) {
			return fmt.Errorf("an API answer contained the Calltouch token %s", secret)
		}
	}
	return nil
}

// policyFor is a valid policy sending to fake, with overrides applied (a nil
// override removes the field; "{fake}" in a server stands for fake's URL).
func PolicyFor(fake *calltouchfake.Server, overrides map[string]any) map[string]any {
	p := Merge(map[string]any{
		"enabled": true,
		"site_id": "12345",
		"server":  fake.URL(),
		"token":   TestToken,
		"hook":    "after_call",
	}, overrides)
	if server, ok := p["server"].(string); ok {
		p["server"] = strings.ReplaceAll(server, "{fake}", fake.URL())
	}
	return p
}

func Merge(base, overrides map[string]any) map[string]any {
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
type Event map[string]any

// testPhone is the client phone of ordered events, as a person types it;
// wantPhone is how Calltouch must get it.
const (
	TestPhone = "+7 (916) 123-45-67"
	WantPhone = "79161234567"
)

func newEvent(typ, order, widget string, data map[string]any) Event {
	return Event{
		"event_id":    NewUUID(),
		"type":        typ,
		"order_id":    order,
		"widget_id":   widget,
		"occurred_at": time.Now().UTC().Format(time.RFC3339),
		"data":        data,
	}
}

// ordered is a callback order with a client phone and a Calltouch session
// id; data overrides those (a nil value removes the field).
func Ordered(order, widget string, data map[string]any) Event {
	return newEvent("call.ordered", order, widget, Merge(map[string]any{
		"client_phone":         TestPhone,
		"calltouch_session_id": "sess-" + order,
	}, data))
}

func Dialed(order, widget string, n int) Event {
	return newEvent("call.dialed", order, widget, map[string]any{"attempt": n})
}

func Answered(order, widget string, n int) Event {
	return newEvent("call.answered", order, widget, map[string]any{"attempt": n})
}

func Failed(order, widget string, n int, reason string) Event {
	data := map[string]any{"attempt": n}
	if reason != "" {
		data["reason"] = reason
	}
	return newEvent("call.failed", order, widget, data)
}

func LastAttempt(order, widget string, n int) Event {
	return newEvent("call.last_attempt", order, widget, map[string]any{"attempt": n})
}

// with returns a copy of the envelope with one top-level field set.
func (ev Event) With(field string, v any) Event {
	out := maps.Clone(ev)
	out[field] = v
	return out
}

// withData returns a copy with one data field set (nil: removed).
func (ev Event) WithData(field string, v any) Event {
	out := maps.Clone(ev)
	out["data"] = Merge(ev["data"].(map[string]any), map[string]any{field: v})
	if v == nil {
		delete(out["data"].(map[string]any), field)
	}
	return out
}

// --- small helpers ---

func NewUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func RandomHex(n int) string {
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

func MustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	return b
}

// decodeObject decodes a JSON object answer; an empty body is nil.
func DecodeObject(t *testing.T, what string, body []byte) map[string]any {
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

func Deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
