package harness

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// Option changes how Start runs serve.
type Option func(env map[string]string)

// WithEnv sets one environment variable of serve (empty: unset it).
func WithEnv(name, value string) Option {
	return func(env map[string]string) { env[name] = value }
}

// OnEmbeddedStore runs serve on the embedded store in dir: DATABASE_URL
// unset, CTJ_DATA_DIR set.
func OnEmbeddedStore(dir string) Option { return WithEnv("CTJ_DATA_DIR", dir) }

// Engine is one running `ctjournal serve` on its own database, with a fake
// Calltouch, and the HTTP helpers the tests talk to it with. Helpers fail
// the test t; subtests and tests sharing an engine use their own view,
// e.on(t).
type Engine struct {
	T *testing.T
	*Process
}

// On is a view of the same engine that fails t instead.
func (e *Engine) On(t *testing.T) *Engine { return &Engine{T: t, Process: e.Process} }

// Process is one serve and what the views of it share. Its methods report
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
	serve   *Serve // nil when none runs
	Stderr  *SyncBuffer
	bodies  bytes.Buffer // every response body the tests received
	logsAll bytes.Buffer // stderr of every serve run, restarts included
	// serverErrors lists every answer no request may get (serverError),
	// whoever sent it; the test owning the engine fails on any.
	serverErrors []string
}

// DefaultEnv is serve's environment in the tests: quick retries, no rate
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
	if env["CTJ_DATA_DIR"] == "" { // on the embedded store otherwise (OnEmbeddedStore)
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

// Shutdown stops serve (SIGTERM, exit 0), the fake, and drops the database.
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

// NewClient is the HTTP client of one engine. It sends a few requests at
// a time: each request in flight holds one of the engine's PostgreSQL
// connections, and the suite shares PostgreSQL with whatever else runs.
func NewClient() *http.Client {
	return &http.Client{
		Timeout:   WaitLimit,
		Transport: &http.Transport{MaxConnsPerHost: 6, MaxIdleConnsPerHost: 6},
	}
}

// AdminExec runs one statement on the maintenance database, holding a
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

// Start starts serve on a fresh database and a fake Calltouch; both
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
		if t.Failed() {
			p.dumpStacks()
		}
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

// Shared is a view of the shared engine, started on first use and
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

// Another starts a second serve on the same database and fake Calltouch,
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

// NewFake starts another fake Calltouch, closed when the test ends, for
// tests that share an engine but must count their own requests.
func (e *Engine) NewFake(t *testing.T) *calltouchfake.Server {
	f := calltouchfake.New()
	t.Cleanup(f.Close)
	return f
}

// Restart stops serve (SIGTERM, exit 0) and starts it again on the same
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

// Start runs serve and waits until /readyz answers 200. It keeps the
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
	stderr := &SyncBuffer{}
	p.mu.Lock()
	p.Stderr = stderr
	p.mu.Unlock()
	s, err := StartServe(context.Background(), ServeConfig{
		Binary: Binary, Env: p.Environ(), Addr: p.address(), Output: stderr, Ready: WaitLimit, Client: p.Client,
	})
	if err != nil {
		p.collectLogs()
		return fmt.Errorf("%w; stderr:\n%s", err, stderr)
	}
	p.mu.Lock()
	p.serve = s
	p.mu.Unlock()
	return nil
}

// address is serve's CTJ_HTTP_ADDR.
func (p *Process) address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Environ is the process environment for serve and the CLI: this
// process's, without any CTJ_ setting, plus the engine's.
func (p *Process) Environ() []string {
	vars := maps.Clone(p.Env)
	vars["DATABASE_URL"] = p.DBURL
	vars["CTJ_HTTP_ADDR"] = p.address()
	return Environ(vars)
}

// Stop sends SIGTERM and requires a clean exit within 20 s.
func (p *Process) Stop() error {
	s := p.take()
	if s == nil {
		return nil
	}
	defer p.collectLogs()
	code, _, err := s.Terminate(20 * time.Second)
	if err == nil && code != 0 {
		err = fmt.Errorf("serve exited with code %d after SIGTERM, want 0", code)
	}
	return err
}

// take hands over the running serve, if any, to the one stopping it.
func (p *Process) take() *Serve {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.serve
	p.serve = nil
	return s
}

// kill ends serve at once (a SIGKILL test).
func (p *Process) kill() {
	if s := p.take(); s != nil {
		s.Kill()
		p.collectLogs()
	}
}

// dumpStacks ends the serve a failed test leaves running with SIGQUIT, on
// which the Go runtime writes every goroutine's stack to stderr: the
// test's log then shows what serve was doing or waiting for.
func (p *Process) dumpStacks() {
	s := p.take()
	if s == nil {
		return
	}
	if s.Cmd.Process.Signal(syscall.SIGQUIT) == nil {
		select {
		case <-s.Exited:
		case <-time.After(10 * time.Second):
		}
	}
	s.Kill()
	p.collectLogs()
}

func (p *Process) collectLogs() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logsAll.WriteString(p.Stderr.String())
	p.Stderr = &SyncBuffer{}
}

// Logs is everything serve wrote to stderr so far, over every run.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logsAll.String() + p.Stderr.String()
}

// Responses is every response body the tests received from the engine.
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
