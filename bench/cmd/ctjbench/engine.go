package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// engine is one running `ctjournal serve`.
type engine struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	debug   string // CTJ_DEBUG_ADDR when profiling
	keepLog string // when profiling, where its log goes once it stops
	logPath string
	exited  chan struct{}
}

// engineEnv is the configuration every run of the binary gets: no Calltouch
// rate limit, quick retries, a short Calltouch timeout (the delivery phase
// holds requests at the fake until that timeout), and the fake's host
// allowed. store is where the store is: DATABASE_URL, or CTJ_DATA_DIR for
// the embedded store, which DATABASE_URL unset selects.
func engineEnv(store []string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CTJ_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	env = append(env, store...)
	env = append(env, "CTJ_CALLTOUCH_RPS=0", "CTJ_RETRY_BASE=50ms", "CTJ_RETRY_MAX=1s", "CTJ_CALLTOUCH_TIMEOUT=2s",
		"CTJ_CALLTOUCH_ALLOWED_HOSTS=127.0.0.1")
	return append(env, extra...)
}

// startEngine starts serve on store with settings (NAME=value) besides
// engineEnv's.
func startEngine(ctx context.Context, bin string, store []string, profiling bool, settings ...string) (*engine, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	extra := settings
	debug := ""
	if profiling {
		debugPort, err := freePort()
		if err != nil {
			return nil, err
		}
		debug = fmt.Sprintf("127.0.0.1:%d", debugPort)
		extra = append(extra, "CTJ_DEBUG_ADDR="+debug)
	}
	logFile, err := os.CreateTemp("", "ctjbench-serve-*.log")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = engineEnv(store, append(extra, "CTJ_HTTP_ADDR="+addr)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	endWithUs(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	e := &engine{cmd: cmd, base: "http://" + addr, debug: debug, logPath: logFile.Name(), exited: make(chan struct{})}
	go func() { cmd.Wait(); logFile.Close(); close(e.exited) }()
	if err := e.waitReady(ctx, 30*time.Second); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *engine) pid() int { return e.cmd.Process.Pid }

func (e *engine) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			return fmt.Errorf("ctjournal serve exited at start: %s", e.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("ctjournal serve not ready after %s: %s", limit, e.logTail())
}

// stop sends SIGTERM, waits for a clean stop (killing it after 30 s) and
// returns its peak resident memory in MiB. A serve that had ended before
// (crashed, or stopped by someone else) is an error, and its log is kept.
func (e *engine) stop() (peakRSSMB float64, err error) {
	select {
	case <-e.exited:
		err = e.gone()
	default:
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(30 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.exited
			err = errors.New("ctjournal serve did not stop within 30 s of SIGTERM; killed")
		}
	}
	if ru, ok := e.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peakRSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	if err == nil && !e.cmd.ProcessState.Success() {
		err = fmt.Errorf("ctjournal serve ended with %s: %s", e.cmd.ProcessState, e.logTail())
	}
	switch {
	case e.keepLog != "":
		_ = os.Rename(e.logPath, e.keepLog)
	case err == nil:
		os.Remove(e.logPath)
	}
	return peakRSSMB, err
}

// gone reports a serve that ended without being asked to; nil while it runs.
func (e *engine) gone() error {
	select {
	case <-e.exited:
		return fmt.Errorf("ctjournal serve (pid %d) ended by itself, with %s: %s", e.pid(), e.cmd.ProcessState, e.logTail())
	default:
		return nil
	}
}

// logTail is the end of the engine's log, for error messages.
func (e *engine) logTail() string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("log %s ends with:\n%s", e.logPath, b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
