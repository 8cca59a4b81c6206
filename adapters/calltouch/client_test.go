package calltouch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/app"
)

const token = "s3cr3t-T0KEN"

func startFake(t *testing.T) *calltouchfake.Server {
	t.Helper()
	fake := calltouchfake.New()
	t.Cleanup(fake.Close)
	return fake
}

func register(t *testing.T, c *calltouch.Client, fake *calltouchfake.Server, siteID, body string) app.CalltouchAnswer {
	t.Helper()
	return c.Register(context.Background(), app.CalltouchRequest{
		BaseURL: fake.URL(), SiteID: siteID, Token: token, Body: body,
	})
}

func TestRegister_SendsTheRequestExactly(t *testing.T) {
	fake := startFake(t)
	c := calltouch.New(5*time.Second, "1.2.3")
	body := "phoneNumber=79161234567&requestNumber=ord-1~2&comment=CallKeeper&subject=%D0%97%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA"

	register(t, c, fake, "12 3/4", body)

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Method != "POST" {
		t.Errorf("method = %q, want POST", got.Method)
	}
	if want := "/calls-service/RestAPI/requests/12%203%2F4/register/"; got.Path != want {
		t.Errorf("path = %q, want %q", got.Path, want)
	}
	if got.SiteID != "12 3/4" {
		t.Errorf("site id = %q, want %q", got.SiteID, "12 3/4")
	}
	for name, want := range map[string]string{
		"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
		"Access-Token": token,
		"User-Agent":   "ctjournal/1.2.3",
	} {
		if v := got.Header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q, want exactly %q", name, v, want)
		}
	}
	if got.Body != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
}

func TestRegister_AnswerByStatus(t *testing.T) {
	tests := []struct {
		name   string
		answer calltouchfake.Answer
		want   app.CalltouchAnswer
	}{
		{"200 with a numeric requestId", calltouchfake.Status(200, `{"requestId": 98765432101234567}`),
			app.CalltouchAnswer{Status: 200, Response: `{"requestId": 98765432101234567}`, RequestID: "98765432101234567"}},
		{"200 with a string requestId", calltouchfake.Status(200, `{"requestId": "r-7", "x": 1}`),
			app.CalltouchAnswer{Status: 200, Response: `{"requestId": "r-7", "x": 1}`, RequestID: "r-7"}},
		{"200 without JSON", calltouchfake.Status(200, `ok`),
			app.CalltouchAnswer{Status: 200, Response: `ok`}},
		{"4xx", calltouchfake.Status(400, `{"error": "bad phone"}`),
			app.CalltouchAnswer{Status: 400, Response: `{"error": "bad phone"}`}},
		{"5xx", calltouchfake.Status(502, `bad gateway`),
			app.CalltouchAnswer{Status: 502, Response: `bad gateway`}},
		{"429 with Retry-After", calltouchfake.RetryAfter(429, 120),
			app.CalltouchAnswer{Status: 429, Response: `{"error": "Too Many Requests"}`, RetryAfter: 2 * time.Minute}},
		{"redirect is not followed", calltouchfake.Status(302, ``),
			app.CalltouchAnswer{Status: 302}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.Script(tt.answer)

			got := register(t, calltouch.New(5*time.Second, "test"), fake, "1", "a=b")

			if got.Duration <= 0 {
				t.Errorf("Duration = %v, want it measured", got.Duration)
			}
			got.Duration = 0
			if got != tt.want {
				t.Errorf("answer = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRegister_DefaultAnswerCarriesRequestID(t *testing.T) {
	fake := startFake(t)
	c := calltouch.New(5*time.Second, "test")
	register(t, c, fake, "1", "a=b")

	got := register(t, c, fake, "1", "a=b")

	if got.Status != 200 || got.RequestID != "2" {
		t.Errorf("answer = %+v, want 200 with requestId 2", got)
	}
}

func TestRegister_NoAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer calltouchfake.Answer
	}{
		{"timeout", calltouchfake.Hang()},
		{"dropped connection", calltouchfake.Drop()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.Script(tt.answer)
			c := calltouch.New(200*time.Millisecond, "test")

			got := register(t, c, fake, token, "a=b") // a site id equal to the token puts it in the URL

			if got.Status != 0 || got.Err == "" {
				t.Fatalf("answer = %+v, want Status 0 and Err set", got)
			}
			if strings.Contains(got.Err, token) {
				t.Errorf("Err %q shows the token", got.Err)
			}
			if fake.Count() != 1 {
				t.Errorf("fake got %d requests, want 1 (no hidden retry)", fake.Count())
			}
		})
	}
}

func TestRegister_ContextCancelledStopsTheTry(t *testing.T) {
	fake := startFake(t)
	fake.Script(calltouchfake.Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	got := calltouch.New(time.Minute, "test").Register(ctx, app.CalltouchRequest{BaseURL: fake.URL(), SiteID: "1", Token: token})

	if got.Status != 0 || got.Err == "" || got.Duration > 10*time.Second {
		t.Errorf("answer = %+v, want Status 0 and Err set soon", got)
	}
}

func TestRegister_UnreachableServer(t *testing.T) {
	fake := calltouchfake.New()
	base := fake.URL()
	fake.Close()

	got := calltouch.New(time.Second, "test").Register(context.Background(), app.CalltouchRequest{BaseURL: base, SiteID: "1", Token: token})

	if got.Status != 0 || got.Err == "" {
		t.Errorf("answer = %+v, want Status 0 and Err set", got)
	}
}

func TestRegister_BadBaseURLNeverShowsToken(t *testing.T) {
	got := calltouch.New(time.Second, "test").Register(context.Background(), app.CalltouchRequest{
		BaseURL: "http://" + token + ":80:80", SiteID: "1", Token: token,
	})

	if got.Status != 0 || got.Err == "" || strings.Contains(got.Err, token) {
		t.Errorf("answer = %+v, want Status 0 and Err set without the token", got)
	}
}

func TestRegister_ResponseExcerptIsOneKiB(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"short body kept whole", "short", "short"},
		{"exactly 1 KiB kept whole", strings.Repeat("a", 1024), strings.Repeat("a", 1024)},
		{"long body cut at 1 KiB", strings.Repeat("a", 70_000), strings.Repeat("a", 1024)},
		// "ж" is two bytes; the one straddling byte 1024 is left out whole.
		{"cut on a rune boundary", strings.Repeat("a", 1023) + strings.Repeat("ж", 10), strings.Repeat("a", 1023)},
		{"invalid UTF-8 replaced", "ok\xffok", "ok\uFFFDok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.Script(calltouchfake.Status(500, tt.body))

			got := register(t, calltouch.New(5*time.Second, "test"), fake, "1", "a=b")

			if got.Response != tt.want {
				t.Errorf("Response = %q (%d bytes), want %d bytes", got.Response, len(got.Response), len(tt.want))
			}
			if got.Status != 500 || got.Err != "" {
				t.Errorf("answer = status %d, err %q; want 500 and no error", got.Status, got.Err)
			}
		})
	}
}

func TestRegister_TokenQuotedBackIsMasked(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"as it is", `{"error":"bad token ` + token + `"}`},
		{"JSON-escaped", `{"error":"bad token \u0073\u0033cr3t-T0KEN"}`},
		{"URL-encoded", `{"url":"/x?token=%73%33cr3t-T0KEN"}`},
		// Masked before the excerpt is cut: no head of the token is left
		// at the end of the first KiB.
		{"across the 1 KiB cut", strings.Repeat("a", 1020) + token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			fake.Script(calltouchfake.Status(400, tt.body))

			got := register(t, calltouch.New(5*time.Second, "test"), fake, "1", "a=b")

			if got.Status != 400 || strings.Contains(got.Response, token[:5]) || !strings.Contains(got.Response, "****") {
				t.Errorf("answer = %+v, want 400 with the token masked", got)
			}
		})
	}
}
