package calltouchfake

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	pathPrefix = "/calls-service/RestAPI/requests/"
	pathSuffix = "/register/"
)

// Request is one request the fake received, as it arrived.
type Request struct {
	Method string
	Path   string // as sent, still escaped: /calls-service/RestAPI/requests/12%203/register/
	SiteID string // unescaped from Path; empty when Path is not a register path
	Header http.Header
	Body   string
	Form   url.Values // the body parsed as a form
	// FieldOrder lists the body's field names in the order sent, repeats
	// included, since the order is part of what Calltouch gets.
	FieldOrder []string
	At         time.Time // when it arrived
	// RemoteAddr is the client's end of the connection (host:port): which
	// connection, so which process, sent it.
	RemoteAddr string

	// Answered is false when the fake hung or dropped the connection; Status
	// is then 0.
	Answered bool
	Status   int
}

func newRequest(r *http.Request, body string, at time.Time) Request {
	form, _ := url.ParseQuery(body) // a malformed body still gets recorded as is
	return Request{
		Method:     r.Method,
		Path:       r.URL.EscapedPath(),
		SiteID:     siteID(r.URL.EscapedPath()),
		Header:     r.Header.Clone(),
		Body:       body,
		Form:       form,
		FieldOrder: fieldOrder(body),
		At:         at,
		RemoteAddr: r.RemoteAddr,
	}
}

// siteID is the {site_id} of a register path, or "" for any other path.
func siteID(escapedPath string) string {
	rest, ok := strings.CutPrefix(escapedPath, pathPrefix)
	if !ok {
		return ""
	}
	id, ok := strings.CutSuffix(rest, pathSuffix)
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	id, err := url.PathUnescape(id)
	if err != nil {
		return ""
	}
	return id
}

func fieldOrder(body string) []string {
	var names []string
	for field := range strings.SplitSeq(body, "&") {
		if field == "" {
			continue
		}
		name, _, _ := strings.Cut(field, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		names = append(names, name)
	}
	return names
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Form = cloneValues(r.Form)
	r.FieldOrder = append([]string(nil), r.FieldOrder...)
	return r
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
