package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"ctjournal/tests/harness"
)

// engine is one running `ctjournal serve`.
type engine struct {
	*harness.Serve
	base    string // http://127.0.0.1:port
	debug   string // CTJ_DEBUG_ADDR when profiling
	keepLog string // when profiling, where its log goes once it stops
	logPath string
}

// engineEnv is the configuration every run of the binary gets: no Calltouch
// rate limit, quick retries, a short Calltouch timeout (the delivery phase
// holds requests at the fake until that timeout), and the fake's host
// allowed. store is where the store is: DATABASE_URL, or CTJ_DATA_DIR for
// the embedded store, which DATABASE_URL unset selects; extra settings
// (NAME=value) come on top.
func engineEnv(store []string, extra ...string) []string {
	vars := map[string]string{
		"CTJ_CALLTOUCH_RPS":           "0",
		"CTJ_RETRY_BASE":              "50ms",
		"CTJ_RETRY_MAX":               "1s",
		"CTJ_CALLTOUCH_TIMEOUT":       "2s",
		"CTJ_CALLTOUCH_ALLOWED_HOSTS": "127.0.0.1",
	}
	for _, kv := range append(store, extra...) {
		name, value, _ := strings.Cut(kv, "=")
		vars[name] = value
	}
	return harness.Environ(vars)
}

// startEngine starts serve on store with settings (NAME=value) besides
// engineEnv's, as the end-to-end tests do. It stops (SIGTERM) when this
// tool dies, however it dies: a run killed with SIGKILL left its serve
// running.
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
	s, err := harness.StartServe(ctx, harness.ServeConfig{
		Binary:     bin,
		Env:        engineEnv(store, append(extra, "CTJ_HTTP_ADDR="+addr)...),
		Addr:       addr,
		Output:     logFile,
		Ready:      30 * time.Second,
		OnOurDeath: syscall.SIGTERM,
	})
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("ctjournal serve: %w: %s", err, logTail(logFile.Name()))
	}
	go func() { <-s.Exited; logFile.Close() }()
	return &engine{Serve: s, base: "http://" + addr, debug: debug, logPath: logFile.Name()}, nil
}

func (e *engine) pid() int { return e.PID() }

// stop sends SIGTERM, waits for a clean stop (killing it after 30 s) and
// returns its peak resident memory in MiB. A serve that had ended before
// (crashed, or stopped by someone else) is an error, and its log is kept.
func (e *engine) stop() (peakRSSMB float64, err error) {
	if e.Ended() {
		err = e.gone()
	} else {
		_, _, err = e.Terminate(30 * time.Second)
		<-e.Exited
	}
	if ru, ok := e.Cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peakRSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	if err == nil && !e.Cmd.ProcessState.Success() {
		err = fmt.Errorf("ctjournal serve ended with %s: %s", e.Cmd.ProcessState, e.logTail())
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
	if !e.Ended() {
		return nil
	}
	return fmt.Errorf("ctjournal serve (pid %d) ended by itself, with %s: %s", e.pid(), e.Cmd.ProcessState, e.logTail())
}

// logTail is the end of the engine's log, for error messages.
func (e *engine) logTail() string { return logTail(e.logPath) }

// logTail is the end of the log at path.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("log %s ends with:\n%s", path, b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
