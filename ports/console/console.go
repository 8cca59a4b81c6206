// Package console is ctjournal's support console: read-only pages at /ui/
// that answer "why was this lead sent, or not?" in a browser, from the same
// queries as the HTTP API, plus the one command support needs, sending a
// failed lead again.
//
// Pages are rendered on the server with html/template from files embedded
// in the binary; no script runs in the browser and nothing is loaded from
// elsewhere, so the console works with JavaScript off and offline. Every
// page has a stable address that support can paste into a ticket.
//
// With an admin token configured, the console asks for it once and keeps
// a signed session cookie (access.go); the send-again form carries a CSRF
// token tied to that session.
package console

import (
	"log/slog"
	"net/http"
	"time"

	"ctjournal/app"
)

// Config is what the console needs besides the application.
type Config struct {
	// AdminToken, when set, is asked for on the login page.
	AdminToken string
	// Brokers tells the status page the broker consumers' state; nil:
	// none runs.
	Brokers func() map[string]app.BrokerStatus
	Log     *slog.Logger
	// Now is the clock of sessions and default periods; time.Now when nil.
	Now func() time.Time
}

// Handler serves the console; mount it at /ui/.
func Handler(a app.Application, cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &console{app: a, cfg: cfg, pages: mustParsePages(), sessions: newSessions(cfg.AdminToken, cfg.Now)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/assets/console.css", stylesheet)
	mux.HandleFunc("GET /ui/login", c.loginPage)
	mux.HandleFunc("POST /ui/login", c.login)
	mux.Handle("POST /ui/logout", c.signedIn(c.logout))
	mux.Handle("GET /ui/{$}", c.signedIn(c.home))
	mux.Handle("GET /ui/orders/{order_id}", c.signedIn(c.order))
	mux.Handle("GET /ui/leads", c.signedIn(c.leads))
	mux.Handle("POST /ui/leads/{key}/redeliver", c.signedIn(c.redeliver))
	mux.Handle("GET /ui/widgets/{widget_id}", c.signedIn(c.widget))
	mux.Handle("GET /ui/quarantine", c.signedIn(c.quarantine))
	mux.Handle("GET /ui/status", c.signedIn(c.status))
	mux.Handle("/ui/", c.signedIn(c.notFound))
	// Browsers say where a request comes from: a form posted from another
	// site is refused before any token is looked at.
	return withHeaders(http.NewCrossOriginProtection().Handler(limitForms(mux)))
}

// maxForm bounds a posted form: the console's hold a token or two.
const maxForm = 16 << 10

// limitForms reads no more of a posted body than a form of the console
// needs; a larger one reads as empty, and is refused for its missing token.
func limitForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		}
		next.ServeHTTP(w, r)
	})
}

type console struct {
	app      app.Application
	cfg      Config
	pages    pages
	sessions sessions
}

// withHeaders keeps every answer out of caches and frames, and lets the
// browser load nothing but the console's own stylesheet.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
