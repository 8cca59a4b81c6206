package httpapi

import "net/http"

// getStatus answers GET /v1/status: the projection's lag and what holds
// it back, the quarantined records, the delivery queue by status.
func (s server) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.app.Queries.GetStatus.Handle(r.Context())
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
