// Package httpapi is ctjournal's HTTP port (docs/api.md): thin handlers
// that decode, call one app handler and encode.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
)

// Config is what the HTTP port needs besides the application.
type Config struct {
	IngestToken string // guards POST /v1/events when set
	AdminToken  string // guards every other /v1/ endpoint when set
	// Ready tells whether serve is ready, and how many log records the
	// projection set aside; its error is a short reason, for anyone to read.
	Ready    func(ctx context.Context) (quarantined int64, err error)
	Registry *prometheus.Registry
	Log      *slog.Logger

	// ObserveIngest counts each POST /v1/events body stored or refused;
	// nil counts nothing.
	ObserveIngest func(app.IngestOutcome)
	// Brokers tells GET /v1/status the broker consumers' state; nil: none.
	Brokers func() map[string]app.BrokerStatus
}

// Handler builds the whole HTTP API.
func Handler(a app.Application, cfg Config) http.Handler {
	if cfg.ObserveIngest == nil {
		cfg.ObserveIngest = func(app.IngestOutcome) {}
	}
	s := server{app: a, cfg: cfg, metrics: newHTTPMetrics(cfg.Registry)}
	mux := http.NewServeMux()
	var methods []string
	for _, r := range s.routes() {
		mux.Handle(r.pattern, r.handler)
		if m, _, _ := strings.Cut(r.pattern, " "); !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(mux, methods, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+" is not served; it takes "+strings.Join(allowed, ", "), nil)
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, nil)
	})
	return s.observe(mux, refuseUnstorableParams(mux, mux))
}

// allowedMethods are those of methods that some route takes on r's path,
// other than the catch-all: none when the path is unknown.
func allowedMethods(mux *http.ServeMux, methods []string, r *http.Request) []string {
	var allowed []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/v1/" && pattern != "" {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead)
			}
		}
	}
	return allowed
}

type server struct {
	app     app.Application
	cfg     Config
	metrics httpMetrics
}

// bearer guards a handler with a token; no token configured means no check.
func (s server) bearer(token string) func(http.HandlerFunc) http.Handler {
	return func(next http.HandlerFunc) http.Handler {
		if token == "" {
			return next
		}
		want := sha256.Sum256([]byte(token))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !bearerMatches(r.Header.Get("Authorization"), want) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ctjournal"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token", nil)
				return
			}
			next(w, r)
		})
	}
}

// bearerMatches tells whether an Authorization header carries the token
// whose SHA-256 is want. The scheme is case-insensitive (RFC 9110); the
// tokens are compared by their digests, in a time that tells nothing of
// the token, not even its length.
func bearerMatches(authorization string, want [sha256.Size]byte) bool {
	scheme, token, _ := strings.Cut(authorization, " ")
	got := sha256.Sum256([]byte(strings.TrimLeft(token, " ")))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && strings.EqualFold(scheme, "Bearer")
}

func (s server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	quarantined, err := s.cfg.Ready(ctx)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "quarantined": quarantined})
}
