package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRefuseUnstorableParams(t *testing.T) {
	mux := http.NewServeMux()
	for _, pattern := range []string{
		"GET /v1/orders/{order_id}", "PUT /v1/widgets/{widget_id}/calltouch",
		"POST /v1/leads/{key}/redeliver", "GET /v1/leads", "GET /files/{rest...}",
	} {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}
	h := refuseUnstorableParams(mux, mux)
	tests := []struct {
		method, target string
		status         int
		field          string
	}{
		{"GET", "/v1/orders/ord-1", http.StatusTeapot, ""},
		{"GET", "/v1/orders/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7", http.StatusTeapot, ""},
		{"GET", "/v1/orders/a%2Fb", http.StatusTeapot, ""},
		{"GET", "/v1/orders/%00", http.StatusBadRequest, "order_id"},
		{"GET", "/v1/orders/ord%FF", http.StatusBadRequest, "order_id"},
		{"GET", "/v1/orders/%C3", http.StatusBadRequest, "order_id"},
		{"PUT", "/v1/widgets/w%00/calltouch", http.StatusBadRequest, "widget_id"},
		{"POST", "/v1/leads/o~1%FE/redeliver", http.StatusBadRequest, "key"},
		{"GET", "/files/a/%00", http.StatusBadRequest, "rest"},
		{"GET", "/v1/leads?widget_id=w-1&status=failed", http.StatusTeapot, ""},
		{"GET", "/v1/leads?widget_id=%00", http.StatusBadRequest, "widget_id"},
		{"GET", "/v1/leads?status=ok&cursor=%FF", http.StatusBadRequest, "cursor"},
		{"GET", "/v1/leads?since=2026-01-01T00:00:00Z&since=%00", http.StatusBadRequest, "since"},
		{"GET", "/v1/leads?%00=1", http.StatusBadRequest, "query"},
		{"GET", "/v1/orders/ord-1?x=%FF", http.StatusBadRequest, "x"},
		{"GET", "/v1/nowhere/%FF", http.StatusNotFound, ""}, // no route, no lookup
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.target, rec.Code, rec.Body, tt.status)
			continue
		}
		if tt.status != http.StatusBadRequest {
			continue
		}
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" || body.Field == nil || *body.Field != tt.field {
			t.Errorf("%s %s: %s, want an error naming %s", tt.method, tt.target, rec.Body, tt.field)
		}
	}
}
