package httpapi

import (
	"net/http"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// maxPolicyBody bounds a policy PUT; a policy is a few hundred bytes.
const maxPolicyBody = 64 << 10

// policyView is a stored policy as the API shows it: token masked.
type policyView struct {
	WidgetID        string      `json:"widget_id"`
	Version         int         `json:"version"`
	Enabled         bool        `json:"enabled"`
	SiteID          string      `json:"site_id"`
	Server          string      `json:"server"`
	Token           string      `json:"token"`
	Hook            domain.Hook `json:"hook"`
	OnlySuccessful  bool        `json:"only_successful"`
	OnlyLastAttempt bool        `json:"only_last_attempt"`
	SendFormName    bool        `json:"send_form_name"`
	SendOrderDate   bool        `json:"send_order_date"`
	CommentDetails  bool        `json:"comment_details"`
	Tap2Call        bool        `json:"tap2call"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

func viewOf(s app.StoredPolicy) policyView {
	p := s.Policy
	return policyView{
		WidgetID: s.WidgetID, Version: s.Version, Enabled: p.Enabled, SiteID: p.SiteID, Server: p.Server,
		Token: domain.MaskToken(p.Token), Hook: p.Hook, OnlySuccessful: p.OnlySuccessful,
		OnlyLastAttempt: p.OnlyLastAttempt, SendFormName: p.SendFormName, SendOrderDate: p.SendOrderDate,
		CommentDetails: p.CommentDetails, Tap2Call: p.Tap2Call, UpdatedAt: s.UpdatedAt,
	}
}

func (s server) putPolicy(w http.ResponseWriter, r *http.Request) {
	widgetID := r.PathValue("widget_id")
	if err := domain.ValidateID("widget_id", widgetID); err != nil {
		s.writeAppError(w, r, err)
		return
	}
	body, ok := readBody(w, r, maxPolicyBody, "64 KiB")
	if !ok {
		return
	}
	p, err := wire.ParsePolicy(body)
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	stored, err := s.app.Commands.SetPolicy.Handle(r.Context(), widgetID, p)
	s.writePolicy(w, r, stored, err)
}

func (s server) getPolicy(w http.ResponseWriter, r *http.Request) {
	stored, err := s.app.Queries.GetPolicy.Handle(r.Context(), r.PathValue("widget_id"))
	s.writePolicy(w, r, stored, err)
}

func (s server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	stored, err := s.app.Commands.DisablePolicy.Handle(r.Context(), r.PathValue("widget_id"))
	s.writePolicy(w, r, stored, err)
}

func (s server) writePolicy(w http.ResponseWriter, r *http.Request, stored app.StoredPolicy, err error) {
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(stored))
}
