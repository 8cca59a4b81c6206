package calltouchfake_test

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

const registerPath = "/calls-service/RestAPI/requests/77/register/"

// post sends one register request and returns the status, 0 when there was
// no answer.
func post(t *testing.T, fake *calltouchfake.Server, path, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Post(fake.URL()+path, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func statuses(reqs []calltouchfake.Request) []int {
	var out []int
	for _, r := range reqs {
		out = append(out, r.Status)
	}
	return out
}

func TestFake_RecordsTheRequest(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()

	status, body := post(t, fake, registerPath, "phoneNumber=7916&comment=a+b&phoneNumber=8")

	if status != 200 || body != `{"requestId": 1}` {
		t.Errorf("answer = %d %s, want 200 {\"requestId\": 1}", status, body)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != registerPath || r.SiteID != "77" || !r.Answered || r.Status != 200 || r.At.IsZero() {
		t.Errorf("recorded %+v", r)
	}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err != nil || host != "127.0.0.1" || port == "0" {
		t.Errorf("RemoteAddr = %q, want the client's 127.0.0.1:port", r.RemoteAddr)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", got)
	}
	if want := []string{"phoneNumber", "comment", "phoneNumber"}; !slices.Equal(r.FieldOrder, want) {
		t.Errorf("FieldOrder = %q, want %q", r.FieldOrder, want)
	}
	if r.Form.Get("comment") != "a b" || len(r.Form["phoneNumber"]) != 2 {
		t.Errorf("Form = %v", r.Form)
	}
}

func TestFake_RequestsAreCopies(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()
	post(t, fake, registerPath, "a=1")

	first := fake.Requests()
	first[0].Header.Set("Access-Token", "changed")
	first[0].Form.Set("a", "changed")
	first[0].FieldOrder[0] = "changed"

	again := fake.Requests()[0]
	if again.Header.Get("Access-Token") != "" || again.Form.Get("a") != "1" || again.FieldOrder[0] != "a" {
		t.Errorf("a caller's change leaked into the record: %+v", again)
	}
}

func TestFake_ScriptThenDefault(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()
	fake.Script(calltouchfake.Status(400, `{"error": "bad"}`), calltouchfake.RetryAfter(429, 7))
	fake.Script(calltouchfake.Drop())

	var got []int
	for range 4 {
		status, _ := post(t, fake, registerPath, "")
		got = append(got, status)
	}

	if want := []int{400, 429, 0, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if want := []int{400, 429, 0, 200}; !slices.Equal(statuses(fake.Requests()), want) {
		t.Errorf("recorded statuses = %v, want %v", statuses(fake.Requests()), want)
	}
	if fake.Requests()[2].Answered {
		t.Error("a dropped request is recorded as answered")
	}
}

func TestFake_RetryAfterHeader(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()
	fake.Script(calltouchfake.RetryAfter(503, 12))

	resp, err := http.Post(fake.URL()+registerPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "12" {
		t.Errorf("answer = %d with Retry-After %q, want 503 with 12", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestFake_SetDefault(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()
	fake.SetDefault(calltouchfake.Status(500, "down"))

	first, _ := post(t, fake, registerPath, "")
	second, _ := post(t, fake, registerPath, "")
	fake.SetDefault(calltouchfake.OK())
	third, _ := post(t, fake, registerPath, "")

	if first != 500 || second != 500 || third != 200 {
		t.Errorf("statuses = %d %d %d, want 500 500 200", first, second, third)
	}
}

func TestFake_UnknownPathIs404AndKeepsTheScript(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()
	fake.Script(calltouchfake.Status(418, ""))

	wrong, _ := post(t, fake, "/calls-service/RestAPI/requests/77/", "")
	scripted, _ := post(t, fake, registerPath, "")

	if wrong != 404 || scripted != 418 {
		t.Errorf("statuses = %d %d, want 404 418", wrong, scripted)
	}
	if fake.Count() != 2 {
		t.Errorf("Count = %d, want 2", fake.Count())
	}
}

func TestFake_FailRateIsDeterministic(t *testing.T) {
	run := func() []int {
		fake := calltouchfake.New()
		defer fake.Close()
		fake.FailRate(30, 42)
		var got []int
		for range 200 {
			status, _ := post(t, fake, registerPath, "")
			got = append(got, status)
		}
		return got
	}

	first, second := run(), run()

	if !slices.Equal(first, second) {
		t.Error("the same seed gave different failures")
	}
	failed := 0
	for _, s := range first {
		if s == 503 {
			failed++
		} else if s != 200 {
			t.Fatalf("unexpected status %d", s)
		}
	}
	if failed < 40 || failed > 80 {
		t.Errorf("%d of 200 failed, want about 30%%", failed)
	}
}

func TestFake_WaitFor(t *testing.T) {
	fake := calltouchfake.New()
	defer fake.Close()

	if fake.WaitFor(1, 50*time.Millisecond) {
		t.Fatal("WaitFor(1) = true before any request")
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { post(t, fake, registerPath, "") })
	}
	if !fake.WaitFor(3, 5*time.Second) {
		t.Errorf("WaitFor(3) = false with %d requests", fake.Count())
	}
	wg.Wait()
}

func TestFake_CloseReleasesHangingRequests(t *testing.T) {
	fake := calltouchfake.New()
	fake.Script(calltouchfake.Hang())
	done := make(chan int)
	go func() {
		resp, err := http.Post(fake.URL()+registerPath, "text/plain", nil)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if !fake.WaitFor(1, 5*time.Second) {
		t.Fatal("the hanging request never arrived")
	}

	closed := make(chan struct{})
	go func() { fake.Close(); close(closed) }()

	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	if status := <-done; status != 0 {
		t.Errorf("a hanging request was answered %d", status)
	}
	if r := fake.Requests()[0]; r.Answered {
		t.Error("a hanging request is recorded as answered")
	}
}
