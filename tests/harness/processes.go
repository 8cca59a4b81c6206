package harness

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PID is the running serve's process id, 0 when none runs.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serve == nil {
		return 0
	}
	return p.serve.PID()
}

// Alive reports whether the serve started last is still running.
func (p *Process) Alive() bool {
	p.mu.Lock()
	s := p.serve
	p.mu.Unlock()
	return s != nil && !s.Ended()
}

// Kill is one SIGKILL of a serve: when it came, and the local ports of
// the serve's connections to its fake Calltouch at that moment, which tell
// the requests it sent from those of any other serve.
type Kill struct {
	At    time.Time
	Ports map[int]bool
}

// SigKill ends serve with SIGKILL, as a crash would, and waits for it to be
// gone. It stops serve first (SIGSTOP), so that it sends nothing more while
// its connections are read. The process can be started again with start().
func (e *Engine) SigKill() Kill {
	e.T.Helper()
	pid := e.PID()
	if pid == 0 {
		e.T.Fatal("SIGKILL: serve is not running")
	}
	_, fakePort, err := net.SplitHostPort(strings.TrimPrefix(e.Fake.URL(), "http://"))
	if err != nil {
		e.T.Fatalf("the fake Calltouch's port: %v", err)
	}
	remote, _ := strconv.Atoi(fakePort)
	k := Kill{At: time.Now()}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		e.T.Fatalf("SIGSTOP to serve (pid %d): %v", pid, err)
	}
	k.Ports, err = connectionPorts(pid, remote)
	e.kill()
	if err != nil {
		e.T.Fatalf("the connections of serve (pid %d) to the fake Calltouch: %v", pid, err)
	}
	return k
}

// Terminate sends SIGTERM and waits up to limit for serve to exit; it
// returns the exit code and how long the exit took.
func (p *Process) Terminate(limit time.Duration) (code int, took time.Duration, err error) {
	s := p.take()
	if s == nil {
		return 0, 0, errors.New("serve is not running")
	}
	defer p.collectLogs()
	return s.Terminate(limit)
}

// Serves starts n-1 more serve processes on e's database and fake
// Calltouch and returns all n, e first.
func (e *Engine) Serves(t *testing.T, n int) []*Engine {
	t.Helper()
	out := []*Engine{e}
	for len(out) < n {
		out = append(out, e.Another(t))
	}
	return out
}

// RestartAfterKill starts serve again after sigkill, failing t if it cannot.
func (e *Engine) RestartAfterKill(t *testing.T) {
	t.Helper()
	if err := e.Start(); err != nil {
		t.Fatalf("start serve again after SIGKILL: %v", err)
	}
}

// OwnerPID is the process id in a delivery claim (host/pid/nonce).
func OwnerPID(claimedBy string) int {
	parts := strings.Split(claimedBy, "/")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// OpenDB opens the engine's database for the test's own SQL, with a few
// connections, closed when t ends (before the database is dropped).
func (p *Process) OpenDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", p.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	return db
}

// QueryInt runs a query answering one integer, failing t on error.
func QueryInt(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return int(n.Int64)
}

// Metrics reads serve's /metrics: each sample's value by its name with
// labels as written ("go_goroutines", `ctj_delivery_tries_total{outcome="delivered"}`).
func (p *Process) Metrics() (map[string]float64, error) {
	resp, err := p.Client.Get(p.URL("/metrics"))
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

// Readyz returns /readyz's status and body (status 0 and the error when
// there was no answer).
func (p *Process) Readyz() (int, string) {
	resp, err := p.Client.Get(p.URL("/readyz"))
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

// VMRSS is the resident memory of a process in KiB, from /proc.
func VMRSS(pid int) (int, error) {
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

// StoreDown refuses every connection to the engine's database and ends
// those open, as a database server out of reach would; PostgreSQL itself,
// which other tests use, goes on. It returns storeUp.
func (e *Engine) StoreDown(t *testing.T) (storeUp func()) {
	t.Helper()
	up := func() {
		if err := AdminExec(`ALTER DATABASE "` + e.DBName + `" ALLOW_CONNECTIONS true`); err != nil {
			t.Errorf("let connections to %s in again: %v", e.DBName, err)
		}
	}
	t.Cleanup(up)
	if err := AdminExec(`ALTER DATABASE "` + e.DBName + `" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if err := AdminExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + e.DBName + `'`); err != nil {
		t.Fatal(err)
	}
	return up
}
