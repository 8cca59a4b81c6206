package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// Do sends one request and returns the status and the body; headers are
// name, value pairs (an empty value removes the header). The ingest or
// admin token is sent when the engine has one.
func (e *Engine) Do(method, path, contentType string, body []byte, headers ...string) (int, []byte) {
	e.T.Helper()
	status, out, err := e.Send(method, path, contentType, body, headers...)
	if err != nil {
		e.T.Fatal(err)
	}
	return status, out
}

// Send is do without stopping the test, for goroutines of a test; an
// answer no request may get fails the test all the same.
func (e *Engine) Send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	e.T.Helper()
	status, out, err := e.Process.Send(method, path, contentType, body, headers...)
	if err == nil && serverError(status) {
		e.T.Errorf("%s %s answered %d, a bug whatever the request: %s", method, path, status, out)
	}
	return status, out, err
}

// serverError tells an answer no request may get: a 500 (or any 5xx but
// 503) is a bug (docs/api.md); a 503 says the store is away, which some
// tests bring about.
func serverError(status int) bool {
	return status >= 500 && status != http.StatusServiceUnavailable
}

// NoteAnswer keeps an answer the tests got: its body, and the request when
// the answer is a server error.
func (p *Process) NoteAnswer(method, path string, status int, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bodies.Write(body)
	p.bodies.WriteByte('\n')
	if serverError(status) {
		p.serverErrors = append(p.serverErrors, fmt.Sprintf("%s %s: %d %s", method, path, status, bytes.TrimSpace(body)))
	}
}

// serverErrorsSeen reports the server errors serve answered so far.
func (p *Process) serverErrorsSeen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.serverErrors); n > 0 {
		return fmt.Errorf("serve answered %d requests with a server error, a bug whatever the request; the first: %s",
			n, strings.Join(p.serverErrors[:min(n, 5)], "; "))
	}
	return nil
}

// Send is one request as do sends it, reporting errors instead of failing
// a test; it notes every answer (noteAnswer).
func (p *Process) Send(method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, p.URL(path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	token := p.adminToken
	if method == http.MethodPost && path == "/v1/events" {
		token = p.ingestToken
	}
	if token != "" && strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	p.NoteAnswer(method, path, resp.StatusCode, out)
	p.checkAPI(req, body, resp, out)
	return resp.StatusCode, out, nil
}

// DoJSON sends v as JSON (nil: no body) and decodes a JSON object answer.
func (e *Engine) DoJSON(method, path string, v any, headers ...string) (int, map[string]any) {
	e.T.Helper()
	var body []byte
	ct := ""
	if v != nil {
		body = MustJSON(e.T, v)
		ct = "application/json"
	}
	status, out := e.Do(method, path, ct, body, headers...)
	return status, DecodeObject(e.T, method+" "+path, out)
}

// PutPolicy sets a widget's policy and requires 200; it returns the answer.
func (e *Engine) PutPolicy(widget string, policy map[string]any) map[string]any {
	e.T.Helper()
	status, got := e.DoJSON(http.MethodPut, "/v1/widgets/"+widget+"/calltouch", policy)
	if status != http.StatusOK {
		e.T.Fatalf("PUT policy of %s: %d %v, want 200", widget, status, got)
	}
	return got
}

// PostEvents posts one envelope or a slice of them as JSON.
func (e *Engine) PostEvents(body any) (int, map[string]any) {
	e.T.Helper()
	return e.DoJSON(http.MethodPost, "/v1/events", body)
}

// MustPost posts events and requires 202 with all of them accepted.
func (e *Engine) MustPost(events ...Event) {
	e.T.Helper()
	var body any = events
	if len(events) == 1 {
		body = events[0]
	}
	status, got := e.PostEvents(body)
	if status != http.StatusAccepted || got["accepted"] != float64(len(events)) {
		e.T.Fatalf("POST /v1/events: %d %v, want 202 with %d accepted", status, got, len(events))
	}
}

// PostRaw posts bytes as they are; headers are name, value pairs.
func (e *Engine) PostRaw(contentType string, body []byte, headers ...string) (int, map[string]any) {
	e.T.Helper()
	status, out := e.Do(http.MethodPost, "/v1/events", contentType, body, headers...)
	return status, DecodeObject(e.T, "POST /v1/events", out)
}

// Order fetches GET /v1/orders/{id}; the explanation is zero unless 200.
func (e *Engine) Order(id string) (int, Explanation) {
	e.T.Helper()
	status, body := e.Do(http.MethodGet, "/v1/orders/"+url.PathEscape(id), "", nil)
	var x Explanation
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &x); err != nil {
			e.T.Fatalf("GET /v1/orders/%s: %v\n%s", id, err, body)
		}
	}
	return status, x
}

// MustOrder fetches an order that must exist.
func (e *Engine) MustOrder(id string) Explanation {
	e.T.Helper()
	status, x := e.Order(id)
	if status != http.StatusOK {
		e.T.Fatalf("GET /v1/orders/%s: %d, want 200", id, status)
	}
	return x
}

// Leads fetches GET /v1/leads?query and requires 200.
func (e *Engine) Leads(query string) LeadPage {
	e.T.Helper()
	status, body := e.Do(http.MethodGet, "/v1/leads?"+query, "", nil)
	if status != http.StatusOK {
		e.T.Fatalf("GET /v1/leads?%s: %d %s", query, status, body)
	}
	var p LeadPage
	if err := json.Unmarshal(body, &p); err != nil {
		e.T.Fatalf("GET /v1/leads?%s: %v\n%s", query, err, body)
	}
	return p
}

// CLI runs another ctjournal command against the engine's database.
func (e *Engine) CLI(args ...string) (stdout, stderr string, code int) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary, args...)
	cmd.Env = e.Environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		e.T.Fatalf("ctjournal %v did not end within %s", args, WaitLimit)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.T.Fatalf("ctjournal %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// PostRefusedEarly posts body over a connection of its own and returns
// the answer's status. serve answers a body it refuses by its
// Content-Length at once and closes the connection soon after, so a
// client still writing may find the connection gone before it reads the
// answer: the body is written beside the reading, its error ignored.
func (e *Engine) PostRefusedEarly(body []byte) int {
	e.T.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL(""), "http://"))
	if err != nil {
		e.T.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: ctjournal\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	if e.ingestToken != "" {
		head += "Authorization: Bearer " + e.ingestToken + "\r\n"
	}
	go func() { _, _ = conn.Write(append([]byte(head+"\r\n"), body...)) }()
	_ = conn.SetReadDeadline(time.Now().Add(WaitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.T.Fatalf("POST /v1/events of %d bytes: %v", len(body), err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
