package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
	"ctjournal/internal/rawhttp"
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

// dial connects to addr for at most the tests' safety limit.
func dial(t *testing.T, addr string) *rawhttp.Conn { return rawhttp.Dial(t, addr, safety) }

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
	c.Send(rawhttp.Head("POST", "/v1/events", "Authorization: Bearer "+ingestToken,
		"Content-Type: application/json", "Content-Length: 1000") + "[")
	c.Trickle(50 * time.Millisecond)

	resp := c.Response()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("a body still arriving after the limit: %s, Connection: close %v; want 408 and close", resp.Status, resp.Close)
	}
	c.Closed()
	if waited := time.Since(start); waited < l.Body {
		t.Errorf("cut off after %s, before the body limit %s", waited, l.Body)
	}
}

func TestLimits_SlowHeadersAreCutOff(t *testing.T) {
	l := testLimits()
	l.Header = 300 * time.Millisecond
	c := dial(t, startServer(t, l))
	start := time.Now()
	c.Send("GET /healthz HTTP/1.1\r\nHost: ctjournal\r\n")
	c.Closed()
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
			c.Send(rawhttp.Head(tc.method, tc.path, tc.headers...))
			if strings.Contains(strings.Join(tc.headers, "\n"), "chunked") {
				c.Send("1\r\n[\r\n")
			} else {
				c.Send("[")
			}
			c.Trickle(time.Second)
			resp := c.Response()
			if resp.StatusCode != tc.want || !resp.Close {
				t.Errorf("%s, Connection: close %v; want %d and close", resp.Status, resp.Close, tc.want)
			}
			c.Closed()
		})
	}
}

// A body read to its end leaves the connection open for the next request.
func TestLimits_ConnectionKeptAfterTheWholeBody(t *testing.T) {
	c := dial(t, startServer(t, testLimits()))
	body := `{"not":"an event"}`
	c.Send(rawhttp.Head("POST", "/v1/events", "Authorization: Bearer "+ingestToken,
		"Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(body))) + body)
	if resp := c.Response(); resp.StatusCode != http.StatusBadRequest || resp.Close {
		t.Fatalf("%s, Connection: close %v; want 400, kept open", resp.Status, resp.Close)
	}
	c.Send(rawhttp.Head("GET", "/healthz"))
	if resp := c.Response(); resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request on the connection: %s", resp.Status)
	}
}

func TestLimits_IdleConnectionIsClosed(t *testing.T) {
	l := testLimits()
	l.Idle = 300 * time.Millisecond
	c := dial(t, startServer(t, l))
	c.Send(rawhttp.Head("GET", "/healthz"))
	if resp := c.Response(); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("%s, Connection: close %v; want 200, kept open", resp.Status, resp.Close)
	}
	idle := time.Now()
	c.Closed()
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
		bare := rawhttp.Head("GET", "/healthz", "X-Pad: ")
		c.Send(rawhttp.Head("GET", "/healthz", "X-Pad: "+strings.Repeat("x", tc.size-len(bare))))
		if resp := c.Response(); resp.StatusCode != tc.want {
			t.Errorf("a head of %d bytes: %s, want %d", tc.size, resp.Status, tc.want)
		}
	}
}
