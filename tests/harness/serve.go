package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Serve is one `ctjournal serve` process, as the tests and the bench run
// it.
type Serve struct {
	Cmd    *exec.Cmd
	Exited chan struct{} // closed once it has ended and Cmd.ProcessState is set
}

// ServeConfig says how StartServe runs serve.
type ServeConfig struct {
	Binary string        // the ctjournal binary
	Env    []string      // its whole environment (Environ), CTJ_HTTP_ADDR included
	Addr   string        // that CTJ_HTTP_ADDR, where /readyz is asked
	Output io.Writer     // where its stdout and stderr go
	Ready  time.Duration // how long it may take until /readyz answers 200
	Client *http.Client  // asks /readyz; nil: a client of its own
	// OnOurDeath is the signal serve gets when the process that started it
	// dies (Linux); 0: SIGKILL.
	OnOurDeath syscall.Signal
}

// StartServe runs serve and waits until /readyz answers 200. A serve that
// exits first is an error (its output says why); one not ready within
// c.Ready, or when ctx ends, is killed.
func StartServe(ctx context.Context, c ServeConfig) (*Serve, error) {
	cmd := exec.Command(c.Binary, "serve")
	cmd.Env = c.Env
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	setProcAttr(cmd, c.OnOurDeath)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", c.Binary, err)
	}
	s := &Serve{Cmd: cmd, Exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.Exited) }()
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: time.Second}
	}
	deadline := time.Now().Add(c.Ready)
	for time.Now().Before(deadline) {
		select {
		case <-s.Exited:
			return nil, fmt.Errorf("serve exited with %v before it was ready", cmd.ProcessState)
		case <-ctx.Done():
			s.Kill()
			return nil, ctx.Err()
		default:
		}
		resp, err := client.Get("http://" + c.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return nil, fmt.Errorf("GET /readyz was not 200 within %s", c.Ready)
}

// PID is serve's process id.
func (s *Serve) PID() int { return s.Cmd.Process.Pid }

// Ended reports whether serve has ended.
func (s *Serve) Ended() bool {
	select {
	case <-s.Exited:
		return true
	default:
		return false
	}
}

// Terminate sends SIGTERM and waits up to limit for serve to exit, killing
// it then; it returns the exit code and how long the exit took.
func (s *Serve) Terminate(limit time.Duration) (code int, took time.Duration, err error) {
	start := time.Now()
	if err := s.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, fmt.Errorf("SIGTERM to serve: %w", err)
	}
	select {
	case <-s.Exited:
		return s.Cmd.ProcessState.ExitCode(), time.Since(start), nil
	case <-time.After(limit):
		s.Kill()
		return -1, time.Since(start), fmt.Errorf("serve did not exit within %s of SIGTERM", limit)
	}
}

// Kill ends serve at once and waits until it is gone.
func (s *Serve) Kill() {
	_ = s.Cmd.Process.Kill()
	<-s.Exited
}

// Environ is an environment for serve and the CLI: this process's,
// without any CTJ_ setting or DATABASE_URL, plus vars (those with a value).
func Environ(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CTJ_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
