package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
	"ctjournal/ports/httpapi"
)

// A /v1/ path the API serves, asked with a method it does not take, is a
// 405 naming the methods it takes, in Allow and in the JSON error; a path
// it does not serve is a 404.
func TestMethods_KnownPathOtherMethodIs405(t *testing.T) {
	h := httpapi.Handler(app.Application{}, httpapi.Config{AdminToken: "admin-secret", Registry: prometheus.NewRegistry()})
	for _, tc := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{http.MethodPatch, "/v1/widgets/w-1/calltouch", http.StatusMethodNotAllowed, "PUT, GET, HEAD, DELETE"},
		{http.MethodGet, "/v1/events", http.StatusMethodNotAllowed, "POST"},
		{http.MethodDelete, "/v1/orders/o-1", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodGet, "/v1/leads/o-1~1/redeliver", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/v1/nothing", http.StatusNotFound, ""},
		{http.MethodGet, "/v1/orders/o-1/more", http.StatusNotFound, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
			t.Errorf("%s %s: %q is not a JSON error", tc.method, tc.target, rec.Body)
		}
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", tc.method, tc.target, rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
		}
	}
}
