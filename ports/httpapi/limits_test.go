package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
)

// safety bounds every wait of these tests on the server; it only turns a
// hang into a failure, far above anything the limits under test allow.
const safety = 30 * time.Second

const ingestToken, adminToken = "ingest-secret-0001", "admin-secret-0002"

// testApp is empty: the requests these tests send are answered before the
// app is called.
func testApp() app.Application { return app.Application{} }

func testConfig() Config {
	return Config{IngestToken: ingestToken, AdminToken: adminToken,
		Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)}
}

// startServer serves the API within l on a real listener.
func startServer(t *testing.T, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Handler(testApp(), testConfig()), l)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// rawConn is one client connection written to by hand.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(safety))
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// trickle sends one byte of body every interval until the connection
// refuses it or the test ends.
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
// in EOF or a reset, not in the test's own deadline.
func (c *rawConn) closed() {
	c.t.Helper()
	extra, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the server kept the connection open past %s", safety)
	}
	if len(extra) > 0 {
		c.t.Fatalf("more after the answer: %q", extra)
	}
}

func head(method, path string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: ctjournal\r\n", method, path)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String() + "\r\n"
}

func testLimits() Limits {
	l := DefaultLimits
	l.Body = time.Hour // a test that waited for a body would fail on safety
	return l
}

func TestLimits_SlowBodyIsCutOff(t *testing.T) {
	l := testLimits()
	l.Body = 300 * time.Millisecond
	c := dial(t, startServer(t, l))
	start := time.Now()
	c.send(head("POST", "/v1/events", "Authorization: Bearer "+ingestToken,
		"Content-Type: application/json", "Content-Length: 1000") + "[")
	c.trickle(50 * time.Millisecond)

	resp := c.response()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("a body still arriving after the limit: %s, Connection: close %v; want 408 and close", resp.Status, resp.Close)
	}
	c.closed()
	if waited := time.Since(start); waited < l.Body {
		t.Errorf("cut off after %s, before the body limit %s", waited, l.Body)
	}
}

func TestLimits_SlowHeadersAreCutOff(t *testing.T) {
	l := testLimits()
	l.Header = 300 * time.Millisecond
	c := dial(t, startServer(t, l))
	start := time.Now()
	c.send("GET /healthz HTTP/1.1\r\nHost: ctjournal\r\n")
	c.closed()
	if waited := time.Since(start); waited < l.Header {
		t.Errorf("cut off after %s, before the header limit %s", waited, l.Header)
	}
}

// An answer given before the body was read never waits for the body: it
// goes out at once and the connection is closed, whatever the client
// still has to send.
func TestLimits_AnswerBeforeTheBodyDoesNotWaitForIt(t *testing.T) {
	addr := startServer(t, testLimits())
	ingest, admin := "Authorization: Bearer "+ingestToken, "Authorization: Bearer "+adminToken
	cases := []struct {
		name, method, path string
		headers            []string
		want               int
	}{
		{"ingest without a token", "POST", "/v1/events", []string{"Content-Type: application/json", "Content-Length: 1000"}, 401},
		{"ingest with a wrong token", "POST", "/v1/events", []string{"Authorization: Bearer nope", "Content-Type: application/json", "Content-Length: 1000"}, 401},
		{"a chunked body without a token", "POST", "/v1/events", []string{"Content-Type: application/json", "Transfer-Encoding: chunked"}, 401},
		{"a policy without a token", "PUT", "/v1/widgets/w/calltouch", []string{"Content-Type: application/json", "Content-Length: 1000"}, 401},
		{"not JSON", "POST", "/v1/events", []string{ingest, "Content-Type: text/plain", "Content-Length: 1000"}, 415},
		{"events over 1 MiB by Content-Length", "POST", "/v1/events", []string{ingest, "Content-Type: application/json", "Content-Length: 2097152"}, 413},
		{"a policy over 64 KiB by Content-Length", "PUT", "/v1/widgets/w/calltouch", []string{admin, "Content-Type: application/json", "Content-Length: 65537"}, 413},
		{"a policy for a bad widget id", "PUT", "/v1/widgets/bad!id/calltouch", []string{admin, "Content-Type: application/json", "Content-Length: 1000"}, 400},
		{"no such endpoint", "POST", "/v1/nothing", []string{admin, "Content-Type: application/json", "Content-Length: 1000"}, 404},
		{"a method the endpoint has not", "POST", "/healthz", []string{"Content-Type: application/json", "Content-Length: 1000"}, 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, addr)
			c.send(head(tc.method, tc.path, tc.headers...))
			if strings.Contains(strings.Join(tc.headers, "\n"), "chunked") {
				c.send("1\r\n[\r\n")
			} else {
				c.send("[")
			}
			c.trickle(time.Second)
			resp := c.response()
			if resp.StatusCode != tc.want || !resp.Close {
				t.Errorf("%s, Connection: close %v; want %d and close", resp.Status, resp.Close, tc.want)
			}
			c.closed()
		})
	}
}

// A body read to its end leaves the connection open for the next request.
func TestLimits_ConnectionKeptAfterTheWholeBody(t *testing.T) {
	c := dial(t, startServer(t, testLimits()))
	body := `{"not":"an event"}`
	c.send(head("POST", "/v1/events", "Authorization: Bearer "+ingestToken,
		"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(body))) + body)
	if resp := c.response(); resp.StatusCode != http.StatusBadRequest || resp.Close {
		t.Fatalf("%s, Connection: close %v; want 400, kept open", resp.Status, resp.Close)
	}
	c.send(head("GET", "/healthz"))
	if resp := c.response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request on the connection: %s", resp.Status)
	}
}

func TestLimits_IdleConnectionIsClosed(t *testing.T) {
	l := testLimits()
	l.Idle = 300 * time.Millisecond
	c := dial(t, startServer(t, l))
	c.send(head("GET", "/healthz"))
	if resp := c.response(); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("%s, Connection: close %v; want 200, kept open", resp.Status, resp.Close)
	}
	idle := time.Now()
	c.closed()
	// The server's idle clock starts as it writes the answer, a moment
	// before this one, so only a close well before the limit is wrong.
	if waited := time.Since(idle); waited < l.Idle/2 {
		t.Errorf("closed after %s idle, well before the idle limit %s", waited, l.Idle)
	}
}

// The request line and headers may take 64 KiB together, not a byte more.
func TestLimits_HeadersOver64KiBAre431(t *testing.T) {
	addr := startServer(t, DefaultLimits)
	for _, tc := range []struct {
		size int
		want int
	}{{64 << 10, http.StatusOK}, {64<<10 + 1, http.StatusRequestHeaderFieldsTooLarge}} {
		c := dial(t, addr)
		bare := head("GET", "/healthz", "X-Pad: ")
		c.send(head("GET", "/healthz", "X-Pad: "+strings.Repeat("x", tc.size-len(bare))))
		if resp := c.response(); resp.StatusCode != tc.want {
			t.Errorf("a head of %d bytes: %s, want %d", tc.size, resp.Status, tc.want)
		}
	}
}
