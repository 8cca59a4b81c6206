package domain

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// HostAllowlist is the hosts a policy's server may name
// (CTJ_CALLTOUCH_ALLOWED_HOSTS): a policy naming any other host is refused,
// and a lead whose server is no longer allowed is not sent. It keeps the
// engine from being pointed at whatever it can reach (the database, a cloud
// metadata address, itself). The zero value allows nothing.
type HostAllowlist struct {
	entries []hostEntry
	text    string // as configured, for messages
}

// hostEntry is one entry: an exact host, or with wildcard any subdomain of
// host but not host itself; port "" allows every port.
type hostEntry struct {
	host     string // lower case; an IP address in its canonical form
	wildcard bool
	port     string
}

// ParseHostAllowlist reads a comma-separated list of entries, each an exact
// host (api-node18.calltouch.ru, 127.0.0.1, [::1]) or *.suffix (any
// subdomain of suffix, not suffix itself), optionally with :port to allow
// that port only.
func ParseHostAllowlist(s string) (HostAllowlist, error) {
	var a HostAllowlist
	var texts []string
	for i, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		e, err := parseHostEntry(entry)
		if err != nil {
			return HostAllowlist{}, fmt.Errorf("entry %d %q: %w", i+1, entry, err)
		}
		a.entries = append(a.entries, e)
		texts = append(texts, entry)
	}
	a.text = strings.Join(texts, ",")
	return a, nil
}

func parseHostEntry(entry string) (hostEntry, error) {
	if entry == "" {
		return hostEntry{}, fmt.Errorf("empty")
	}
	var e hostEntry
	host := entry
	if rest, ok := strings.CutPrefix(entry, "*."); ok {
		e.wildcard, host = true, rest
	}
	host, e.port = splitPort(host)
	if e.port != "" {
		if n, err := strconv.Atoi(e.port); err != nil || n < 1 || n > 65535 || e.port[0] == '0' {
			return hostEntry{}, fmt.Errorf("port must be a number from 1 to 65535")
		}
	}
	if addr, ok := ipAddress(host); ok {
		if e.wildcard {
			return hostEntry{}, fmt.Errorf("*. takes a domain name, not an IP address")
		}
		e.host = addr
		return e, nil
	}
	if !isHostName(host) {
		return hostEntry{}, fmt.Errorf("want a host name, an IP address or *.domain, each with an optional :port")
	}
	e.host = strings.ToLower(host)
	return e, nil
}

// splitPort splits host:port, [ipv6]:port and [ipv6]; a bare IPv6 address
// has no port.
func splitPort(s string) (host, port string) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		if end := strings.Index(rest, "]"); end >= 0 {
			if p, ok := strings.CutPrefix(rest[end+1:], ":"); ok {
				return rest[:end], p
			}
			if rest[end+1:] == "" {
				return rest[:end], ""
			}
		}
		return s, ""
	}
	if strings.Count(s, ":") == 1 {
		h, p, _ := strings.Cut(s, ":")
		return h, p
	}
	return s, ""
}

// ipAddress is s in its canonical form when it is an IP address without a
// zone.
func ipAddress(s string) (string, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return "", false
	}
	return addr.Unmap().String(), true
}

// String is the list as configured.
func (a HostAllowlist) String() string { return a.text }

// Check reports whether a policy may send to server (a valid policy's
// server): its host must match an entry, with the entry's port if it has
// one, and plain http:// needs an exact entry, since anyone who controls
// some subdomain could otherwise read the token off the wire.
func (a HostAllowlist) Check(server string) error {
	scheme, host, port, ok := serverAddress(server)
	if !ok {
		return fieldErr("server", "must be a host name such as api-node18.calltouch.ru or an http or https URL such as http://127.0.0.1:9000")
	}
	wildcardOnly := false
	for _, e := range a.entries {
		if !e.matches(host, port) {
			continue
		}
		if scheme == "http" && e.wildcard {
			wildcardOnly = true
			continue
		}
		return nil
	}
	if wildcardOnly {
		return fieldErr("server", "plain http:// is allowed only for a host listed exactly in CTJ_CALLTOUCH_ALLOWED_HOSTS (%s); use https://", a.text)
	}
	return fieldErr("server", "host %s is not among the allowed Calltouch hosts (CTJ_CALLTOUCH_ALLOWED_HOSTS=%s)", joinHostPort(host, port), a.text)
}

func (e hostEntry) matches(host, port string) bool {
	if e.port != "" && e.port != port {
		return false
	}
	if !e.wildcard {
		return e.host == host
	}
	_, isIP := ipAddress(host)
	return !isIP && strings.HasSuffix(host, "."+e.host)
}

// serverAddress is where a policy's server points: scheme, host (lower
// case, an IP address canonical) and port (the scheme's when not given).
func serverAddress(server string) (scheme, host, port string, ok bool) {
	scheme, host, port = "https", server, ""
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return "", "", "", false
		}
		scheme, host, port = u.Scheme, u.Hostname(), u.Port()
	}
	if addr, isIP := ipAddress(host); isIP {
		host = addr
	} else if isHostName(host) {
		host = strings.ToLower(host)
	} else {
		return "", "", "", false
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return "", "", "", false
	}
	return scheme, host, strconv.Itoa(n), true // 0080 is port 80
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
