package hostile

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ctjournal/internal/rawhttp"
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
		c := rawhttp.Dial(t, addr, bodyLimit+harness.WaitLimit)
		start := time.Now()
		c.Send(rawhttp.Head("POST", "/v1/events", "Authorization: Bearer "+ingest,
			"Content-Type: application/json", "Content-Length: 1000") + "[")
		c.Trickle(2 * time.Second)
		resp := c.Response()
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("%s, Connection: close %v; want 408 and close", resp.Status, resp.Close)
		}
		c.Closed()
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
				c := rawhttp.Dial(t, addr, harness.WaitLimit)
				c.Send(rawhttp.Head(tc.method, tc.path, tc.headers...) + "[")
				c.Trickle(2 * time.Second)
				resp := c.Response()
				if resp.StatusCode != tc.want || !resp.Close {
					t.Errorf("%s, Connection: close %v; want %d and close", resp.Status, resp.Close, tc.want)
				}
				c.Closed()
			})
		}
	})

	t.Run("headers over 64 KiB are 431", func(t *testing.T) {
		t.Parallel()
		c := rawhttp.Dial(t, addr, harness.WaitLimit)
		c.Send(rawhttp.Head("GET", "/healthz", "X-Pad: "+strings.Repeat("x", 64<<10)))
		if resp := c.Response(); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
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
