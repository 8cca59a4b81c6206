package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// defaultLeadLimit is a page of the listing when no limit is given.
const defaultLeadLimit = 50

// leadsPage is one page of the lead listing with the filter that made it.
type leadsPage struct {
	Form     url.Values // the filter as given, to fill the form again
	Statuses []string
	Leads    []app.LeadRow
	// Next and First are the addresses of the next and the first page;
	// empty when there is none.
	Next, First string
	Error       string
}

func (leadsPage) title() string   { return "Leads" }
func (leadsPage) section() string { return "leads" }

// leads lists decisions newest first with the API's filter parameters, so
// that /ui/leads?… and /v1/leads?… with the same query show the same rows.
func (c *console) leads(w http.ResponseWriter, r *http.Request, ses session) {
	q := r.URL.Query()
	p := leadsPage{Form: q, Statuses: app.LeadStatuses}
	f, err := leadFilter(q)
	if err != nil {
		p.Error = err.Error()
		c.render(w, r, http.StatusBadRequest, "leads", ses, p)
		return
	}
	page, err := c.app.Queries.ListLeads.Handle(r.Context(), f)
	if err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	p.Leads = page.Leads
	if page.NextCursor != nil {
		p.Next = leadsAddress(q, *page.NextCursor)
	}
	if q.Get("cursor") != "" {
		p.First = leadsAddress(q, "")
	}
	c.render(w, r, http.StatusOK, "leads", ses, p)
}

// leadsAddress is the listing's address with the same filter at cursor.
func leadsAddress(q url.Values, cursor string) string {
	next := url.Values{}
	for _, name := range []string{"widget_id", "status", "since", "until", "limit"} {
		if v := q.Get(name); v != "" {
			next.Set(name, v)
		}
	}
	if cursor != "" {
		next.Set("cursor", cursor)
	}
	if len(next) == 0 {
		return "/ui/leads"
	}
	return "/ui/leads?" + next.Encode()
}

// leadFilter reads the API's parameters. Besides RFC 3339 times it takes
// a date or a date and a time without a zone, read as UTC, as people type
// them.
func leadFilter(q url.Values) (app.LeadFilter, error) {
	f := app.LeadFilter{WidgetID: q.Get("widget_id"), Status: q.Get("status"), Limit: defaultLeadLimit, Cursor: q.Get("cursor")}
	for _, name := range []string{"widget_id", "status", "since", "until", "limit", "cursor"} {
		if err := storable(name, q.Get(name)); err != nil {
			return f, err
		}
	}
	if f.Status != "" && !slices.Contains(app.LeadStatuses, f.Status) {
		return f, &domain.FieldError{Field: "status", Message: "must be one of " + strings.Join(app.LeadStatuses, ", ")}
	}
	var err error
	if f.Since, err = timeParam(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = timeParam(q, "until"); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = app.ParseLeadLimit(v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// timeLayouts are the forms a time parameter may take; without a zone it
// is UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly}

func timeParam(q url.Values, name string) (*time.Time, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return nil, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, &domain.FieldError{Field: name, Message: "must be an RFC 3339 time, or a date (and a time) in UTC such as 2026-03-01 or 2026-03-01T09:30"}
}

// redeliver sends a failed lead again and shows its order, where the new
// try will appear. A lead key is its order's id, with "~" and the attempt
// after it for a lead of one attempt.
func (c *console) redeliver(w http.ResponseWriter, r *http.Request, ses session) {
	if !c.checkCSRF(w, r, ses) {
		return
	}
	key := r.PathValue("key")
	if err := storable("key", key); err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	if err := c.app.Commands.RedeliverLead.Handle(r.Context(), domain.LeadKey(key)); err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	c.cfg.Log.Info("console: lead queued to be sent again", "key", key)
	orderID, _, _ := strings.Cut(key, "~")
	http.Redirect(w, r, "/ui/orders/"+url.PathEscape(orderID)+"?"+url.Values{"sent": {key}}.Encode(), http.StatusSeeOther)
}
