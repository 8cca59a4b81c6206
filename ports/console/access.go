package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sessionCookie holds a signed session: an expiry and a random nonce,
// never the admin token.
const sessionCookie = "ctj_console"

// sessionLifetime is how long a login lasts.
const sessionLifetime = 8 * time.Hour

// sessions issues and checks session cookies and the CSRF tokens tied to
// them.
//
// The signing key is derived from the admin token rather than drawn at
// random, so that every serve behind one address accepts the sessions of
// the others and a restart logs nobody out; changing the token ends every
// session. Without an admin token there is no login: a session is handed
// to every visitor and serves only to tie the send-again form to the
// browser that loaded it.
type sessions struct {
	login bool // an admin token is configured
	token []byte
	key   []byte
	now   func() time.Time
}

func newSessions(adminToken string, now func() time.Time) sessions {
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte("ctjournal console sessions"))
	return sessions{login: adminToken != "", token: []byte(adminToken), key: mac.Sum(nil), now: now}
}

// session is a checked session cookie.
type session struct {
	nonce string
}

// issue makes a new session's cookie value.
func (s sessions) issue() string {
	payload := fmt.Sprintf("v1.%d.%s", s.now().Add(sessionLifetime).Unix(), rand.Text())
	return payload + "." + s.sign("session", payload)
}

// check returns the session of a cookie value that this token signed and
// that has not expired.
func (s sessions) check(value string) (session, bool) {
	payload, sig, ok := cutLast(value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign("session", payload))) {
		return session{}, false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return session{}, false
	}
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !s.now().Before(time.Unix(expiry, 0)) {
		return session{}, false
	}
	return session{nonce: parts[2]}, true
}

// csrf is the token a form of the session carries.
func (s sessions) csrf(ses session) string { return s.sign("csrf", ses.nonce) }

func (s sessions) validCSRF(ses session, token string) bool {
	return hmac.Equal([]byte(token), []byte(s.csrf(ses)))
}

func (s sessions) sign(purpose, payload string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(purpose + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (s sessions) tokenMatches(given string) bool {
	return subtle.ConstantTimeCompare([]byte(given), s.token) == 1
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// setSessionCookie hands the browser a new session.
func (c *console) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overHTTPS(r),
	})
}

// overHTTPS tells a request that reached us, or the proxy in front of us,
// over https.
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// signedIn runs next with the request's session. Without a valid one it
// asks for the admin token when one is configured, and otherwise hands the
// browser a session.
func (c *console) signedIn(next func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cookie, err := r.Cookie(sessionCookie); err == nil {
			if ses, ok := c.sessions.check(cookie.Value); ok {
				next(w, r, ses)
				return
			}
		}
		switch {
		case !c.sessions.login:
			value := c.sessions.issue()
			c.setSessionCookie(w, r, value, int(sessionLifetime.Seconds()))
			ses, _ := c.sessions.check(value)
			next(w, r, ses)
		case r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Site") == "cross-site":
			// A link followed from another site (a ticket) comes without
			// the SameSite=Strict cookie; the same address opened again
			// from here carries it.
			c.render(w, r, http.StatusOK, "reopen", session{}, reopenPage{Target: r.URL.RequestURI()})
		default:
			target := "/ui/login"
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
		}
	})
}

type reopenPage struct{ Target string }

type loginPage struct {
	Next  string
	Error string
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := localTarget(r.URL.Query().Get("next"))
	if !c.sessions.login {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", session{}, loginPage{Next: next})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	next := localTarget(r.PostFormValue("next"))
	if !c.sessions.login {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if !c.sessions.tokenMatches(r.PostFormValue("token")) {
		c.cfg.Log.Warn("console login refused: wrong admin token", "remote", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "login", session{}, loginPage{Next: next, Error: "That is not the admin token."})
		return
	}
	c.setSessionCookie(w, r, c.sessions.issue(), int(sessionLifetime.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *console) logout(w http.ResponseWriter, r *http.Request, ses session) {
	if !c.checkCSRF(w, r, ses) {
		return
	}
	c.setSessionCookie(w, r, "", -1)
	target := "/ui/login"
	if !c.sessions.login {
		target = "/ui/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// checkCSRF answers 403 to a form posted without its session's token.
func (c *console) checkCSRF(w http.ResponseWriter, r *http.Request, ses session) bool {
	if c.sessions.validCSRF(ses, r.PostFormValue("csrf")) {
		return true
	}
	c.renderError(w, r, ses, http.StatusForbidden, "The form has expired or did not come from this console. Open the page again and resend it.")
	return false
}

// localTarget is where to go after a login: a console address, never
// another site.
func localTarget(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/ui/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/"
	}
	return next
}
