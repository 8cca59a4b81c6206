package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ctjournal/docs"
)

// route is one endpoint: its pattern as http.ServeMux takes it ("GET
// /v1/leads") and its handler.
type route struct {
	pattern string
	handler http.Handler
}

// routes is every endpoint Handler serves. docs/openapi.yaml describes the
// same set, which a test holds them to.
func (s server) routes() []route {
	ingest := s.bearer(s.cfg.IngestToken)
	admin := s.bearer(s.cfg.AdminToken)
	return []route{
		{"POST /v1/events", ingest(s.postEvents)},
		{"PUT /v1/widgets/{widget_id}/calltouch", admin(s.putPolicy)},
		{"GET /v1/widgets/{widget_id}/calltouch", admin(s.getPolicy)},
		{"DELETE /v1/widgets/{widget_id}/calltouch", admin(s.deletePolicy)},
		{"GET /v1/orders/{order_id}", admin(s.getOrder)},
		{"GET /v1/leads", admin(s.getLeads)},
		{"POST /v1/leads/{key}/redeliver", admin(s.redeliver)},
		{"GET /v1/status", admin(s.getStatus)},
		{"GET /healthz", http.HandlerFunc(s.healthz)},
		{"GET /readyz", http.HandlerFunc(s.readyz)},
		{"GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})},
		{"GET /openapi.yaml", http.HandlerFunc(openAPI)},
	}
}

// Routes lists the pattern of every endpoint the API serves, method first:
// "GET /v1/orders/{order_id}".
func Routes() []string {
	var patterns []string
	for _, r := range (server{}).routes() {
		patterns = append(patterns, r.pattern)
	}
	return patterns
}

// openAPI serves the API's OpenAPI document, embedded in the binary; like
// /healthz it needs no token.
func openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(docs.OpenAPI)
}
