package console

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// defaultPeriod is the widget page's period when none is given: the last
// 30 UTC days, today included.
const defaultPeriod = 30 * 24 * time.Hour

// maxPeriod bounds the chart: one bar a day.
const maxPeriod = 366 * 24 * time.Hour

// widgetPage is a widget's policy, its history and its leads over a period.
type widgetPage struct {
	WidgetID     string
	Form         url.Values
	Since, Until time.Time
	InForce      *policyView // nil: the widget never had a policy
	Earlier      []policyView
	Summary      *app.WidgetSummary // nil: no order of the widget is known
	Statuses     []string
	Chart        chart
	Error        string
}

func (p widgetPage) title() string   { return "Widget " + p.WidgetID }
func (p widgetPage) section() string { return "home" }

// policyView is a policy as the console shows it: never the token itself.
type policyView struct {
	Version     int
	At          time.Time // when it was set, or recorded in the log
	Enabled     bool
	SiteID      string
	Server      string
	TokenMasked string
	Hook        domain.Hook
	Options     []option
}

type option struct {
	Name string
	On   bool
}

func viewPolicy(version int, at time.Time, p domain.Policy, tokenMasked string) policyView {
	return policyView{
		Version: version, At: at, Enabled: p.Enabled, SiteID: p.SiteID, Server: p.Server, TokenMasked: tokenMasked, Hook: p.Hook,
		Options: []option{
			{"only_successful", p.OnlySuccessful}, {"only_last_attempt", p.OnlyLastAttempt},
			{"send_form_name", p.SendFormName}, {"send_order_date", p.SendOrderDate},
			{"comment_details", p.CommentDetails}, {"tap2call", p.Tap2Call},
		},
	}
}

func (c *console) widget(w http.ResponseWriter, r *http.Request, ses session) {
	id := r.PathValue("widget_id")
	if err := storable("widget_id", id); err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	p := widgetPage{WidgetID: id, Form: r.URL.Query(), Statuses: app.LeadStatuses}
	var err error
	if p.Since, p.Until, err = period(r.URL.Query(), c.cfg.Now()); err != nil {
		p.Error = err.Error()
		c.render(w, r, http.StatusBadRequest, "widget", ses, p)
		return
	}
	if err := c.loadPolicies(r, &p); err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	f := app.WidgetFilter{WidgetID: id, Since: &p.Since, Until: &p.Until}
	summary, err := c.app.Queries.ExplainWidget.Handle(r.Context(), f)
	switch {
	case errors.Is(err, app.ErrNotFound):
		if p.InForce == nil && len(p.Earlier) == 0 {
			c.renderError(w, r, ses, http.StatusNotFound, "No widget "+id+" is known: it has no policy and no orders.")
			return
		}
	case err != nil:
		c.renderAppError(w, r, ses, err)
		return
	default:
		p.Summary = &summary
	}
	days, err := c.app.Queries.CountLeadsPerDay.Handle(r.Context(), f)
	if err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	p.Chart = drawChart(days)
	c.render(w, r, http.StatusOK, "widget", ses, p)
}

// loadPolicies reads the policy in force from the write side, and the
// earlier versions from the log's record of them.
func (c *console) loadPolicies(r *http.Request, p *widgetPage) error {
	current, err := c.app.Queries.GetPolicy.Handle(r.Context(), p.WidgetID)
	switch {
	case errors.Is(err, app.ErrNotFound):
	case err != nil:
		return err
	default:
		v := viewPolicy(current.Version, current.UpdatedAt, current.Policy, domain.MaskToken(current.Policy.Token))
		p.InForce = &v
	}
	versions, err := c.app.Queries.ListPolicyVersions.Handle(r.Context(), p.WidgetID)
	if err != nil {
		return err
	}
	for _, v := range versions {
		if p.InForce == nil || v.Version < p.InForce.Version {
			p.Earlier = append(p.Earlier, viewPolicy(v.Version, v.RecordedAt, v.Policy, v.TokenMasked))
		}
	}
	return nil
}

// period reads since and until; by default the last 30 UTC days up to the
// end of today.
func period(q url.Values, now time.Time) (since, until time.Time, err error) {
	for _, name := range []string{"since", "until"} {
		if err := storable(name, q.Get(name)); err != nil {
			return since, until, err
		}
	}
	s, err := timeParam(q, "since")
	if err != nil {
		return since, until, err
	}
	u, err := timeParam(q, "until")
	if err != nil {
		return since, until, err
	}
	y, m, d := now.UTC().Date()
	until = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	if u != nil {
		until = *u
	}
	since = until.Add(-defaultPeriod)
	if s != nil {
		since = *s
	}
	switch {
	case !since.Before(until):
		return since, until, &domain.FieldError{Field: "since", Message: "must be before until"}
	case until.Sub(since) > maxPeriod:
		return since, until, &domain.FieldError{Field: "since", Message: "the period must be at most 366 days"}
	}
	return since, until, nil
}
