package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const adminToken = "admin-token-5d1f0b7e9a"

func TestLogin_AsksForTheTokenOnceAndKeepsASession(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	rec := c.get("/ui/orders/ord-1?x=1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login?next=%2Fui%2Forders%2Ford-1%3Fx%3D1" {
		t.Fatalf("a page without a session: %d to %q, want 303 to the login", rec.Code, rec.Header().Get("Location"))
	}
	body := c.page("/ui/login?next=%2Fui%2Forders%2Ford-1%3Fx%3D1", http.StatusOK)
	mustContain(t, "login page", body, `<form class="card narrow" method="post" action="/ui/login">`, `type="password"`, `value="/ui/orders/ord-1?x=1"`)
	mustNotContain(t, "login page", body, "Log out", `href="/ui/leads"`)

	rec = c.do(http.MethodPost, "/ui/login", url.Values{"token": {"wrong"}, "next": {"/ui/leads"}})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not the admin token") {
		t.Fatalf("a wrong token: %d\n%s", rec.Code, rec.Body)
	}
	if len(c.cookies) != 0 {
		t.Fatalf("a wrong token got cookies %v", c.cookies)
	}

	c.login(adminToken, "/ui/orders/ord-1?x=1")
	ck := c.cookies["ctj_console"]
	if ck == nil {
		t.Fatal("no session cookie after the login")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/ui/" || ck.MaxAge <= 0 {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Strict, not Secure over http, path /ui/", ck)
	}
	if strings.Contains(ck.Value, adminToken) || strings.Contains(ck.Raw, adminToken) {
		t.Errorf("the session cookie holds the admin token: %s", ck.Raw)
	}
	body = c.page("/ui/orders/ord-1", http.StatusOK)
	mustContain(t, "order page signed in", body, "Log out", `action="/ui/logout"`)

	// Logging out needs the page's CSRF token and ends the session.
	if rec := c.do(http.MethodPost, "/ui/logout", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("logout without a CSRF token: %d, want 403", rec.Code)
	}
	rec = c.do(http.MethodPost, "/ui/logout", url.Values{"csrf": {csrfOf(t, body)}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login" || c.cookies["ctj_console"] != nil {
		t.Fatalf("logout: %d to %q, cookies %v", rec.Code, rec.Header().Get("Location"), c.cookies)
	}
	if rec := c.get("/ui/leads"); rec.Code != http.StatusSeeOther {
		t.Errorf("a page after logout: %d, want the login", rec.Code)
	}
}

func TestLogin_CookieIsSecureBehindHTTPS(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	rec := c.do(http.MethodPost, "/ui/login", url.Values{"token": {adminToken}}, "X-Forwarded-Proto", "https")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/" {
		t.Fatalf("login: %d to %q, want / ui/", rec.Code, rec.Header().Get("Location"))
	}
	if ck := c.cookies["ctj_console"]; ck == nil || !ck.Secure {
		t.Errorf("session cookie behind https: %+v, want Secure", ck)
	}
}

func TestLogin_SessionsAreSignedAndExpire(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	c.login(adminToken, "/ui/")
	good := c.cookies["ctj_console"].Value
	for name, value := range map[string]string{
		"tampered nonce":    strings.Replace(good, ".", ".9", 2),
		"another signature": good[:strings.LastIndex(good, ".")+1] + "AAAA",
		"no signature":      good[:strings.LastIndex(good, ".")],
		"the token itself":  adminToken,
		"empty":             "",
	} {
		c.cookies["ctj_console"] = &http.Cookie{Name: "ctj_console", Value: value}
		if rec := c.get("/ui/"); rec.Code != http.StatusSeeOther {
			t.Errorf("%s session: %d, want the login", name, rec.Code)
		}
	}
	// A session signed under another admin token is not valid here.
	other := newConsole(t, newFakeStore(), adminToken+"-rotated")
	other.cookies["ctj_console"] = &http.Cookie{Name: "ctj_console", Value: good}
	if rec := other.get("/ui/"); rec.Code != http.StatusSeeOther {
		t.Errorf("a session of another token: %d, want the login", rec.Code)
	}
	// Another process with the same token accepts it.
	same := newConsole(t, newFakeStore(), adminToken)
	same.cookies["ctj_console"] = &http.Cookie{Name: "ctj_console", Value: good}
	if rec := same.get("/ui/"); rec.Code != http.StatusOK {
		t.Errorf("a session of the same token in another process: %d, want 200", rec.Code)
	}
}

func TestLogin_NextStaysInTheConsole(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	for _, next := range []string{"https://evil.example/ui/", "//evil.example/ui/", "/\\evil.example", "/v1/leads", "javascript:alert(1)", ""} {
		rec := c.do(http.MethodPost, "/ui/login", url.Values{"token": {adminToken}, "next": {next}})
		if rec.Header().Get("Location") != "/ui/" {
			t.Errorf("next %q: redirected to %q, want /ui/", next, rec.Header().Get("Location"))
		}
	}
}

// A link pasted in a ticket is followed from another site, and the
// browser leaves the SameSite=Strict cookie out: the page opens itself
// again from the console, which sends it.
func TestLogin_LinkFromAnotherSiteReopensItself(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	rec := c.do(http.MethodGet, "/ui/orders/ord-1", nil, "Sec-Fetch-Site", "cross-site")
	if rec.Code != http.StatusOK {
		t.Fatalf("cross-site link: %d", rec.Code)
	}
	mustContain(t, "reopen page", rec.Body.String(), `<meta http-equiv="refresh" content="0; url=/ui/orders/ord-1">`, `href="/ui/orders/ord-1"`)
	mustNotContain(t, "reopen page", rec.Body.String(), "call.ordered")
}

func TestCSRF_SendAgainNeedsTheSessionsToken(t *testing.T) {
	f := newFakeStore()
	c := newConsole(t, f, adminToken)
	c.login(adminToken, "/ui/")
	csrf := csrfOf(t, c.page("/ui/orders/ord-1", http.StatusOK))

	intruder := newConsole(t, f, adminToken)
	intruder.login(adminToken, "/ui/")
	othersCSRF := csrfOf(t, intruder.page("/ui/orders/ord-1", http.StatusOK))
	if othersCSRF == csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, form := range map[string]url.Values{
		"no token": {}, "a wrong token": {"csrf": {"x" + csrf}}, "another session's token": {"csrf": {othersCSRF}},
	} {
		if rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", form); rec.Code != http.StatusForbidden {
			t.Errorf("send again with %s: %d, want 403", name, rec.Code)
		}
	}
	// A form posted from another site is refused whatever it carries.
	rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}}, "Sec-Fetch-Site", "cross-site")
	if rec.Code != http.StatusForbidden {
		t.Errorf("send again from another site: %d, want 403", rec.Code)
	}
	if len(f.redelivered) != 0 {
		t.Fatalf("refused forms redelivered %v", f.redelivered)
	}
	if rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}}, "Sec-Fetch-Site", "same-origin"); rec.Code != http.StatusSeeOther {
		t.Fatalf("send again with the token: %d\n%s", rec.Code, rec.Body)
	}
	// Without a session, a post goes to the login and changes nothing.
	anonymous := newConsole(t, f, adminToken)
	if rec := anonymous.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrf}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login" {
		t.Errorf("send again without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if len(f.redelivered) != 1 {
		t.Fatalf("redelivered %v, want one", f.redelivered)
	}
}

func TestNoAdminToken_NoLoginButStillCSRF(t *testing.T) {
	f := newFakeStore()
	c := newConsole(t, f, "")
	body := c.page("/ui/orders/ord-1", http.StatusOK)
	mustNotContain(t, "order page", body, "Log out")
	if ck := c.cookies["ctj_console"]; ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v, want one for the forms", ck)
	}
	if rec := c.get("/ui/login?next=%2Fui%2Fleads"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/leads" {
		t.Errorf("login page without a token: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("send again without the CSRF token: %d, want 403", rec.Code)
	}
	stranger := newConsole(t, f, "")
	if rec := stranger.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrfOf(t, body)}}); rec.Code != http.StatusForbidden {
		t.Errorf("send again with another browser's token: %d, want 403", rec.Code)
	}
	if rec := c.do(http.MethodPost, "/ui/leads/ord-1~1/redeliver", url.Values{"csrf": {csrfOf(t, body)}}); rec.Code != http.StatusSeeOther {
		t.Errorf("send again: %d, want 303", rec.Code)
	}
	if len(f.redelivered) != 1 {
		t.Errorf("redelivered %v, want one", f.redelivered)
	}
}

func TestLogin_LargeFormIsRefused(t *testing.T) {
	c := newConsole(t, newFakeStore(), adminToken)
	rec := c.do(http.MethodPost, "/ui/login", url.Values{"token": {adminToken}, "pad": {strings.Repeat("x", 1<<20)}})
	if rec.Code != http.StatusUnauthorized || len(c.cookies) != 0 {
		t.Errorf("a 1 MiB login form: %d, cookies %v; want it refused", rec.Code, c.cookies)
	}
}
