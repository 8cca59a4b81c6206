package httpapi

import (
	"net/http"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

func (s server) getOrder(w http.ResponseWriter, r *http.Request) {
	x, err := s.app.Queries.ExplainOrder.Handle(r.Context(), r.PathValue("order_id"))
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (s server) getLeads(w http.ResponseWriter, r *http.Request) {
	f, err := leadFilter(r)
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	page, err := s.app.Queries.ListLeads.Handle(r.Context(), f)
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

var leadStatuses = map[string]bool{
	app.StatusPending: true, app.StatusDelivered: true, app.StatusFailed: true,
	app.StatusSkipped: true, app.StatusWaiting: true,
}

func leadFilter(r *http.Request) (app.LeadFilter, error) {
	q := r.URL.Query()
	f := app.LeadFilter{WidgetID: q.Get("widget_id"), Status: q.Get("status"), Limit: 100, Cursor: q.Get("cursor")}
	if f.Status != "" && !leadStatuses[f.Status] {
		return f, &domain.FieldError{Field: "status", Message: "must be one of pending, delivered, failed, skipped, waiting"}
	}
	for _, t := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, &domain.FieldError{Field: t.name, Message: "must be an RFC 3339 time"}
			}
			*t.dst = &at
		}
	}
	if v := q.Get("limit"); v != "" {
		var err error
		if f.Limit, err = app.ParseLeadLimit(v); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (s server) redeliver(w http.ResponseWriter, r *http.Request) {
	key := domain.LeadKey(r.PathValue("key"))
	if err := s.app.Commands.RedeliverLead.Handle(r.Context(), key); err != nil {
		s.writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"key": string(key), "status": app.StatusPending})
}
