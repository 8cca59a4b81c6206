// Package httpapi is ctjournal's HTTP port (contract.md): thin handlers
// that decode, call one app handler and encode.
package httpapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
}

// Handler builds the whole HTTP API.
func Handler(a app.Application, cfg Config) http.Handler {
	s := server{app: a, cfg: cfg, metrics: newHTTPMetrics(cfg.Registry)}
	mux := http.NewServeMux()
	ingest := s.bearer(cfg.IngestToken)
	admin := s.bearer(cfg.AdminToken)
	mux.Handle("POST /v1/events", ingest(s.postEvents))
	mux.Handle("PUT /v1/widgets/{widget_id}/calltouch", admin(s.putPolicy))
	mux.Handle("GET /v1/widgets/{widget_id}/calltouch", admin(s.getPolicy))
	mux.Handle("DELETE /v1/widgets/{widget_id}/calltouch", admin(s.deletePolicy))
	mux.Handle("GET /v1/orders/{order_id}", admin(s.getOrder))
	mux.Handle("GET /v1/leads", admin(s.getLeads))
	mux.Handle("POST /v1/leads/{key}/redeliver", admin(s.redeliver))
	mux.Handle("GET /v1/status", admin(s.getStatus))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, nil)
	})
	return s.observe(mux)
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
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ctjournal"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token", nil)
				return
			}
			next(w, r)
		})
	}
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
