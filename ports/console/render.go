package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/console.css
var assets embed.FS

// pages holds one template set per page, each the layout with the page's
// own blocks.
type pages map[string]*template.Template

func mustParsePages() pages {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := pages{}
	for _, name := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		out[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", name))
	}
	return out
}

// frame is what the layout needs around every page.
type frame struct {
	Name    string // the page's template, for tests to know where they are
	Title   string
	Nav     bool   // the reader is signed in: show the way around
	Login   bool   // a logout button makes sense
	CSRF    string // the session's token for forms
	Section string // the navigation entry to highlight
	Page    any
}

// titled lets a page name itself in the window title and navigation.
type titled interface {
	title() string
	section() string
}

// render writes a page; the body is built first, so that a template error
// is a clean 500 rather than half a page.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, page string, ses session, data any) {
	f := frame{Name: page, Title: "ctjournal", Nav: ses.nonce != "", Login: c.sessions.login && ses.nonce != "", Page: data}
	if ses.nonce != "" {
		f.CSRF = c.sessions.csrf(ses)
	}
	if t, ok := data.(titled); ok {
		f.Title, f.Section = t.title()+" · ctjournal", t.section()
	}
	var body bytes.Buffer
	if err := c.pages[page].Execute(&body, f); err != nil {
		c.cfg.Log.Error("console page failed", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// errorPage explains why a page could not be shown.
type errorPage struct {
	Status  int
	Message string
}

func (p errorPage) title() string   { return http.StatusText(p.Status) }
func (p errorPage) section() string { return "" }

func (c *console) renderError(w http.ResponseWriter, r *http.Request, ses session, status int, msg string) {
	c.render(w, r, status, "error", ses, errorPage{Status: status, Message: msg})
}

// renderAppError shows what an app error means for the reader: bad input
// 400, unknown 404, refused by state 409, store away 503, else 500.
func (c *console) renderAppError(w http.ResponseWriter, r *http.Request, ses session, err error) {
	var (
		fieldErr *domain.FieldError
		stateErr *app.StateError
	)
	switch {
	case errors.As(err, &fieldErr):
		c.renderError(w, r, ses, http.StatusBadRequest, fieldErr.Error())
	case errors.Is(err, app.ErrInvalidData):
		c.renderError(w, r, ses, http.StatusBadRequest, "A value of the request cannot be stored or looked up.")
	case errors.Is(err, app.ErrNotFound):
		c.renderError(w, r, ses, http.StatusNotFound, "Nothing is known under that address.")
	case errors.As(err, &stateErr):
		c.renderError(w, r, ses, http.StatusConflict, stateErr.Message)
	case errors.Is(err, app.ErrUnavailable):
		c.cfg.Log.Warn("console: store unavailable", "path", r.URL.Path, "err", err)
		c.renderError(w, r, ses, http.StatusServiceUnavailable, "The store cannot be reached right now. Try again in a moment.")
	default:
		c.cfg.Log.Error("console request failed", "path", r.URL.Path, "err", err)
		c.renderError(w, r, ses, http.StatusInternalServerError, "Something went wrong on the server; it has been logged.")
	}
}

// stylesheet serves the console's only asset; a new version of it may
// take a few minutes to reach a browser that has the old one.
func stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=300")
	http.ServeFileFS(w, r, assets, "assets/console.css")
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request, ses session) {
	c.renderError(w, r, ses, http.StatusNotFound, "The console has no page at this address.")
}

// funcs are the helpers every template may use. Links are built with
// url.PathEscape, so that any id is one path segment; html/template
// escapes the rest.
var funcs = template.FuncMap{
	"orderURL":  func(id string) string { return "/ui/orders/" + url.PathEscape(id) },
	"widgetURL": func(id string) string { return "/ui/widgets/" + url.PathEscape(id) },
	"redeliverURL": func(key string) string {
		return "/ui/leads/" + url.PathEscape(key) + "/redeliver"
	},
	"stamp":      stamp,
	"stampp":     func(t *time.Time) string { return orDash(t, stamp) },
	"intp":       func(n *int) string { return orDash(n, func(n int) string { return fmt.Sprint(n) }) },
	"strp":       func(s *string) string { return orDash(s, func(s string) string { return s }) },
	"pretty":     prettyJSON,
	"seconds":    seconds,
	"inc":        func(i int) int { return i + 1 },
	"deref":      func(s *string) string { return *s },
	"statusText": http.StatusText,
	"add":        func(a, b float64) float64 { return a + b },
	"sub":        func(a, b float64) float64 { return a - b },
	"dateOf":     func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"minute":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	// leadsURL is the lead listing of a widget, and of a status.
	"leadsURL": func(widgetID string, status ...string) string {
		q := url.Values{"widget_id": {widgetID}}
		if len(status) > 0 {
			q.Set("status", status[0])
		}
		return "/ui/leads?" + q.Encode()
	},
	"upper": strings.ToUpper,
	"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

func orDash[T any](v *T, show func(T) string) string {
	if v == nil {
		return "–"
	}
	return show(*v)
}

// prettyJSON indents a JSON value for reading; anything else is shown as it is.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}
