package httpapi

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"ctjournal/app"
)

// refuseUnstorableParams answers 400 {"error","field"} to a request whose
// path parameters ({order_id}, {widget_id}, {key}) or query parameters
// are not valid UTF-8 or hold U+0000, before any handler sees them: no
// store holds such text (PostgreSQL refuses both), so a lookup could only
// fail, and would answer 500.
func refuseUnstorableParams(routes *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := routes.Handler(r)
		if field, bad := unstorableParam(pattern, r.URL); bad {
			msg := field + ": must be valid UTF-8 without U+0000"
			if pattern == "POST /v1/events" { // its 400 always has index and field
				writeJSON(w, http.StatusBadRequest, app.IngestRefusal{Kind: app.RefusedInvalid, Message: msg, Field: &field})
				return
			}
			writeError(w, http.StatusBadRequest, msg, &field)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unstorableParam names the first parameter of u, routed by pattern, that
// a store cannot hold: a path wildcard by its name, a query parameter by
// its name, or "query" when the name itself is at fault. Path segments
// that are not wildcards match no route unless they are what the route
// says, so they need no check.
func unstorableParam(pattern string, u *url.URL) (field string, bad bool) {
	if i := strings.IndexByte(pattern, '/'); i >= 0 { // past "GET "
		wants := strings.Split(pattern[i:], "/")
		for j, seg := range strings.Split(u.EscapedPath(), "/") {
			name, isWildcard := wildcard(wants, j)
			if v, err := url.PathUnescape(seg); isWildcard && err == nil && !storable(v) {
				return name, true
			}
		}
	}
	query, _ := url.ParseQuery(u.RawQuery) // pairs it cannot decode, it leaves out
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if !storable(name) {
			return "query", true
		}
		for _, v := range query[name] {
			if !storable(v) {
				return name, true
			}
		}
	}
	return "", false
}

// wildcard is the name of the pattern segment matching path segment j
// when it is a wildcard: "{key}", or "{rest...}" and every segment after.
func wildcard(segments []string, j int) (string, bool) {
	if last := len(segments) - 1; j > last && strings.HasSuffix(segments[last], "...}") {
		j = last
	}
	if j >= len(segments) || !strings.HasPrefix(segments[j], "{") || segments[j] == "{$}" {
		return "", false
	}
	return strings.TrimSuffix(strings.Trim(segments[j], "{}"), "..."), true
}

func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
