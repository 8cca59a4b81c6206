package domain

import (
	"net/url"
	"strings"
	"unicode"
)

// hostLabelChars may make up one dot-separated label of a host name.
const hostLabelChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"

// Validate checks a policy as wire.ParsePolicy does, naming the first bad field.
func (p Policy) Validate() error {
	switch {
	case strings.TrimSpace(p.SiteID) == "":
		return fieldErr("site_id", "required")
	case p.Server == "":
		return fieldErr("server", "required")
	case !validServer(p.Server):
		return fieldErr("server", "must be a host name such as api-node18.calltouch.ru or an http or https URL such as http://127.0.0.1:9000")
	case p.Token == "":
		return fieldErr("token", "required")
	case strings.HasPrefix(p.Token, "****"):
		// What GET shows, sent back as it is: storing it would break every
		// delivery of the widget.
		return fieldErr("token", "is the masked token; send the token itself")
	case strings.ContainsFunc(p.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		// It travels in an HTTP header, which cannot carry them intact.
		return fieldErr("token", "must not contain spaces or control characters")
	case p.Hook != HookBeforeCall && p.Hook != HookAfterCall:
		return fieldErr("hook", "must be %s or %s", HookBeforeCall, HookAfterCall)
	case p.Hook == HookBeforeCall && (p.OnlySuccessful || p.OnlyLastAttempt):
		var filters []string
		if p.OnlySuccessful {
			filters = append(filters, "only_successful")
		}
		if p.OnlyLastAttempt {
			filters = append(filters, "only_last_attempt")
		}
		return fieldErr("hook", "before_call cannot be combined with %s: a deferred order would be sent before its outcome is known",
			strings.Join(filters, " or "))
	}
	return nil
}

// validServer accepts a bare host name or an http(s) base URL with a host
// name or IP address and nothing after its path (no credentials, query or
// fragment).
func validServer(s string) bool {
	if !strings.Contains(s, "://") {
		return isHostName(s)
	}
	if strings.ContainsAny(s, "?# ") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return false
	}
	_, isIP := ipAddress(u.Hostname())
	return isIP || isHostName(u.Hostname())
}

// isHostName reports whether s is dot-separated labels of letters, digits
// and inner hyphens, as DNS names are.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, hostLabelChars) != "" {
			return false
		}
	}
	return true
}

// BaseURL is where Calltouch requests go (docs/calltouch.md): https:// for a bare
// host, a URL as given without its trailing "/".
func (p Policy) BaseURL() string {
	if strings.Contains(p.Server, "://") {
		return strings.TrimRight(p.Server, "/")
	}
	return "https://" + p.Server
}
