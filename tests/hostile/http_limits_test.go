package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ctjournal/tests/harness"
)

// TestHTTPLimits checks docs/api.md's HTTP limits on the real binary:
// a body trickling in is cut off after 30 s, a request refused before its
// body is read is answered at once without waiting for it, headers over
// 64 KiB are 431, and the bearer scheme is case-insensitive.
func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	const ingest, admin = "limits-ingest-0001", "limits-admin-0002"
	e := harness.Start(t, harness.WithEnv("CTJ_INGEST_TOKEN", ingest), harness.WithEnv("CTJ_ADMIN_TOKEN", admin))
	addr := strings.TrimPrefix(e.URL(""), "http://")

	t.Run("a body still arriving after 30 s is cut off", func(t *testing.T) {
		t.Parallel()
		const bodyLimit = 30 * time.Second
		c := dialRaw(t, addr, bodyLimit+harness.WaitLimit)
		start := time.Now()
		c.send(rawHead("POST", "/v1/events", "Authorization: Bearer "+ingest,
			"Content-Type: application/json", "Content-Length: 1000") + "[")
		c.trickle(2 * time.Second)
		resp := c.response()
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("%s, Connection: close %v; want 408 and close", resp.Status, resp.Close)
		}
		c.closed()
		if waited := time.Since(start); waited < bodyLimit {
			t.Errorf("cut off after %s, before the body limit", waited)
		}
	})

	t.Run("a request refused before its body is read does not wait for it", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path string
			headers            []string
			want               int
		}{
			{"no token", "POST", "/v1/events", []string{"Content-Type: application/json", "Content-Length: 1000"}, 401},
			{"the admin token to ingest", "POST", "/v1/events", []string{"Authorization: bearer " + admin, "Content-Type: application/json", "Content-Length: 1000"}, 401},
			{"a wrong admin token", "PUT", "/v1/widgets/w/calltouch", []string{"Authorization: Bearer nope", "Content-Type: application/json", "Content-Length: 1000"}, 401},
			{"not JSON", "POST", "/v1/events", []string{"Authorization: Bearer " + ingest, "Content-Type: text/plain", "Content-Length: 1000"}, 415},
			{"over 1 MiB by Content-Length", "POST", "/v1/events", []string{"Authorization: Bearer " + ingest, "Content-Type: application/json", "Content-Length: 1048577"}, 413},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				// A server waiting for the body would answer 408 after 30 s.
				c := dialRaw(t, addr, harness.WaitLimit)
				c.send(rawHead(tc.method, tc.path, tc.headers...) + "[")
				c.trickle(2 * time.Second)
				resp := c.response()
				if resp.StatusCode != tc.want || !resp.Close {
					t.Errorf("%s, Connection: close %v; want %d and close", resp.Status, resp.Close, tc.want)
				}
				c.closed()
			})
		}
	})

	t.Run("headers over 64 KiB are 431", func(t *testing.T) {
		t.Parallel()
		c := dialRaw(t, addr, harness.WaitLimit)
		c.send(rawHead("GET", "/healthz", "X-Pad: "+strings.Repeat("x", 64<<10)))
		if resp := c.response(); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s, want 431", resp.Status)
		}
	})

	t.Run("the Authorization scheme is case-insensitive", func(t *testing.T) {
		t.Parallel()
		e := e.On(t)
		for i, scheme := range []string{"Bearer", "bearer", "BEARER"} {
			order := fmt.Sprintf("limits-scheme-%d", i)
			status, got := e.PostRaw("application/json", harness.MustJSON(t, harness.Ordered(order, "limits-w", nil)), "Authorization", scheme+" "+ingest)
			if status != http.StatusAccepted {
				t.Errorf("POST /v1/events with %q: %d %v, want 202", scheme, status, got)
			}
			if status, body := e.Do("GET", "/v1/leads", "", nil, "Authorization", scheme+" "+admin); status != http.StatusOK {
				t.Errorf("GET /v1/leads with %q: %d %s, want 200", scheme, status, body)
			}
		}
	})
}

// rawConn is a client connection written to by hand, to send what no
// well-behaved client would.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

// dialRaw connects to addr; every read and write fails after limit.
func dialRaw(t *testing.T, addr string, limit time.Duration) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(limit))
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func rawHead(method, path string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: ctjournal\r\n", method, path)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String() + "\r\n"
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// trickle sends one byte every interval until the connection refuses it
// or the test ends.
func (c *rawConn) trickle(interval time.Duration) {
	stop := make(chan struct{})
	c.t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
}

func (c *rawConn) response() *http.Response {
	c.t.Helper()
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("no answer: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		c.t.Fatalf("reading the answer's body: %v", err)
	}
	return resp
}

// closed waits until the server closes the connection: the next read ends
// in EOF or a reset, not in the connection's own deadline.
func (c *rawConn) closed() {
	c.t.Helper()
	extra, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("the server kept the connection open")
	}
	if len(extra) > 0 {
		c.t.Fatalf("more after the answer: %q", extra)
	}
}
