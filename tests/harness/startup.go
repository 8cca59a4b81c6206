package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// StartUnready starts serve on a fresh database and fake Calltouch, as
// Start does, without waiting for it to be ready: waitReady waits
// until /readyz answers 200, or says why it did not within WaitLimit.
func StartUnready(t *testing.T, opts ...Option) (e *Engine, waitReady func() error) {
	t.Helper()
	p := &Process{Env: DefaultEnv(opts...), Client: NewClient(), Stderr: &SyncBuffer{}}
	p.DBName = fmt.Sprintf("%s%d_%s", DBPrefix, os.Getpid(), RandomHex(6))
	if err := AdminExec(`CREATE DATABASE "` + p.DBName + `"`); err != nil {
		t.Fatal(err)
	}
	p.DBURL = "postgres://postgres@127.0.0.1:5432/" + p.DBName + "?sslmode=disable"
	p.Fake = calltouchfake.New()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p.addr = addr
	started := make(chan struct{})
	var startErr error
	go func() { startErr = p.startOnce(); close(started) }()
	waitReady = func() error { <-started; return startErr }
	e = &Engine{T: t, Process: p}
	t.Cleanup(func() {
		_ = waitReady()
		if err := errors.Join(p.Shutdown(), p.serverErrorsSeen()); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", e.Logs())
		}
	})
	return e, waitReady
}

// RunServe runs a serve of its own on e's database with extra settings
// (name, value pairs) until it exits, and returns its exit code and what
// it wrote.
func (e *Engine) RunServe(settings ...string) (code int, output string) {
	e.T.Helper()
	addr, err := freeAddr()
	if err != nil {
		e.T.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, "serve")
	cmd.Env = append(e.Environ(), "CTJ_HTTP_ADDR="+addr)
	for i := 0; i+1 < len(settings); i += 2 {
		cmd.Env = append(cmd.Env, settings[i]+"="+settings[i+1])
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &exit)) {
		e.T.Fatalf("serve with %v did not exit by itself (%v):\n%s", settings, err, out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}
