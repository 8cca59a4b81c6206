// Package rawhttp is a test client that writes HTTP by hand, to send what
// no well-behaved client does: bodies one byte at a time, oversized
// headers, requests it never finishes.
package rawhttp

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
)

// Conn is one client connection, closed when the test ends.
type Conn struct {
	t testing.TB
	net.Conn
	r     *bufio.Reader
	limit time.Duration
}

// Dial connects to addr; every read and write fails after limit.
func Dial(t testing.TB, addr string, limit time.Duration) *Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(limit))
	return &Conn{t: t, Conn: c, r: bufio.NewReader(c), limit: limit}
}

// Head is a request line and headers, with the blank line that ends them.
func Head(method, path string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: ctjournal\r\n", method, path)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String() + "\r\n"
}

// Send writes s, failing the test if the connection refuses it.
func (c *Conn) Send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// Trickle sends one byte every interval until the connection refuses it
// or the test ends.
func (c *Conn) Trickle(interval time.Duration) {
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

// Response reads the next answer, body and all.
func (c *Conn) Response() *http.Response {
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

// Closed waits until the server closes the connection: the next read ends
// in EOF or a reset, not in the connection's own deadline.
func (c *Conn) Closed() {
	c.t.Helper()
	extra, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the server kept the connection open past %s", c.limit)
	}
	if len(extra) > 0 {
		c.t.Fatalf("more after the answer: %q", extra)
	}
}
