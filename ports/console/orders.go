package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"ctjournal/app"
	"ctjournal/domain"
)

// homePage is the order search, with the widget search beside it.
type homePage struct{}

func (homePage) title() string   { return "Find an order" }
func (homePage) section() string { return "home" }

// home searches: an order id goes to the order's page, a widget id to the
// widget's, so that the address of what was found is the one to share.
func (c *console) home(w http.ResponseWriter, r *http.Request, ses session) {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("order_id")); id != "" {
		http.Redirect(w, r, "/ui/orders/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	if id := strings.TrimSpace(q.Get("widget_id")); id != "" {
		http.Redirect(w, r, "/ui/widgets/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "home", ses, homePage{})
}

// orderPage is an order's story, as `ctjournal explain` tells it.
type orderPage struct {
	X app.OrderExplanation
	// Sent is the lead just queued to be sent again from this page.
	Sent string
}

func (p orderPage) title() string   { return "Order " + p.X.OrderID }
func (p orderPage) section() string { return "home" }

func (c *console) order(w http.ResponseWriter, r *http.Request, ses session) {
	id := r.PathValue("order_id")
	if err := storable("order_id", id); err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	x, err := c.app.Queries.ExplainOrder.Handle(r.Context(), id)
	if err != nil {
		if errors.Is(err, app.ErrNotFound) {
			c.renderError(w, r, ses, http.StatusNotFound, "No order "+id+" is known: no event of it has been projected yet.")
			return
		}
		c.renderAppError(w, r, ses, err)
		return
	}
	p := orderPage{X: x}
	// The notice names only a lead of this order: a link cannot make the
	// page claim anything else was sent.
	if sent := r.URL.Query().Get("sent"); slices.ContainsFunc(x.Decisions, func(d app.ExplainedDecision) bool {
		return d.Key != nil && *d.Key == sent
	}) {
		p.Sent = sent
	}
	c.render(w, r, http.StatusOK, "order", ses, p)
}

// storable refuses text no store can hold or look up: invalid UTF-8 or
// U+0000, which a browser may well send.
func storable(field, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return &domain.FieldError{Field: field, Message: "must be valid UTF-8 without U+0000"}
	}
	return nil
}
