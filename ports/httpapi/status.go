package httpapi

import (
	"net/http"

	"ctjournal/app"
)

// getStatus answers GET /v1/status: the projection's lag and what holds
// it back, the quarantined records, the delivery queue by status, the
// broker consumers.
func (s server) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.app.Queries.GetStatus.Handle(r.Context())
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	st.Brokers = map[string]app.BrokerStatus{}
	if s.cfg.Brokers != nil {
		st.Brokers = s.cfg.Brokers()
	}
	writeJSON(w, http.StatusOK, st)
}
