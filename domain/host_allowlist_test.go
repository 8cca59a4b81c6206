package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestHostAllowlist_Check(t *testing.T) {
	tests := []struct {
		allow, server string
		ok            bool
	}{
		// The default: Calltouch's API nodes, over https.
		{"*.calltouch.ru", "api-node18.calltouch.ru", true},
		{"*.calltouch.ru", "API.CallTouch.RU", true},
		{"*.calltouch.ru", "https://api.calltouch.ru", true},
		{"*.calltouch.ru", "https://api.calltouch.ru:8443/base/", true},
		{"*.calltouch.ru", "calltouch.ru", false}, // a subdomain, not the bare suffix
		{"*.calltouch.ru", "evilcalltouch.ru", false},
		{"*.calltouch.ru", "api.calltouch.ru.evil.example", false},
		{"*.calltouch.ru", "http://api.calltouch.ru", false}, // plain http needs an exact entry
		{"*.calltouch.ru", "http://evil.example", false},
		{"*.calltouch.ru", "169.254.169.254", false},
		{"*.calltouch.ru", "http://127.0.0.1:5432", false},
		{"*.calltouch.ru", "http://[::1]:8080", false},
		// Exact entries.
		{"127.0.0.1", "http://127.0.0.1:9000", true},
		{"127.0.0.1", "http://127.0.0.1", true},
		{"127.0.0.1", "https://127.0.0.1:1", true},
		{"127.0.0.1", "http://127.0.0.2:9000", false},
		{"127.0.0.1", "http://localhost:9000", false},
		{"127.0.0.1", "http://127.0.0.1.nip.io:9000", false},
		{"api-node18.calltouch.ru", "http://api-node18.calltouch.ru", true},
		{"api-node18.calltouch.ru", "api-node19.calltouch.ru", false},
		{"api-node18.calltouch.ru", "x.api-node18.calltouch.ru", false},
		{"::1", "http://[::1]:9000", true},
		{"[::1]", "http://[0:0::1]:9000", true},
		{"[::ffff:127.0.0.1]", "http://127.0.0.1:9000", true},
		// Ports: an entry with one allows that port only.
		{"127.0.0.1:9000", "http://127.0.0.1:9000", true},
		{"127.0.0.1:9000", "http://127.0.0.1:09000", true},
		{"127.0.0.1:9000", "http://127.0.0.1:5432", false},
		{"127.0.0.1:80", "http://127.0.0.1", true},
		{"[::1]:9000", "http://[::1]:9000", true},
		{"[::1]:9000", "http://[::1]:9001", false},
		{"*.calltouch.ru:443", "api.calltouch.ru", true},
		{"*.calltouch.ru:443", "https://api.calltouch.ru:8443", false},
		// Several entries.
		{"127.0.0.1, *.calltouch.ru", "api.calltouch.ru", true},
		{"127.0.0.1, *.calltouch.ru", "http://127.0.0.1:1234", true},
		{"*.calltouch.ru,api.calltouch.ru", "http://api.calltouch.ru", true}, // the exact entry allows http
		{"*.calltouch.ru,proxy.example", "https://proxy.example/calltouch/", true},
		// Wildcards take domains only: an IP address never matches one.
		{"*.0.1", "http://127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.allow+" "+tt.server, func(t *testing.T) {
			a, err := ParseHostAllowlist(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Check(tt.server)
			if tt.ok != (err == nil) {
				t.Fatalf("Check(%q) = %v, want allowed %v", tt.server, err, tt.ok)
			}
			var fe *FieldError
			if err != nil && (!errors.As(err, &fe) || fe.Field != "server" || !strings.Contains(fe.Message, "CTJ_CALLTOUCH_ALLOWED_HOSTS")) {
				t.Errorf("Check(%q) = %#v, want a server field error naming the setting", tt.server, err)
			}
		})
	}
}

func TestHostAllowlist_ZeroValueAllowsNothing(t *testing.T) {
	if err := (HostAllowlist{}).Check("api.calltouch.ru"); err == nil {
		t.Error("the zero allowlist allowed api.calltouch.ru")
	}
}

func TestHostAllowlist_MessageSaysWhatIsWrong(t *testing.T) {
	a, err := ParseHostAllowlist("*.calltouch.ru")
	if err != nil {
		t.Fatal(err)
	}
	for server, want := range map[string]string{
		"http://api.calltouch.ru": "server: plain http:// is allowed only for a host listed exactly in CTJ_CALLTOUCH_ALLOWED_HOSTS (*.calltouch.ru); use https://",
		"169.254.169.254":         "server: host 169.254.169.254:443 is not among the allowed Calltouch hosts (CTJ_CALLTOUCH_ALLOWED_HOSTS=*.calltouch.ru)",
		"http://[::1]:5432":       "server: host [::1]:5432 is not among the allowed Calltouch hosts (CTJ_CALLTOUCH_ALLOWED_HOSTS=*.calltouch.ru)",
	} {
		if err := a.Check(server); err == nil || err.Error() != want {
			t.Errorf("Check(%q) = %v, want %q", server, err, want)
		}
	}
}

func TestParseHostAllowlist_RefusesBadEntries(t *testing.T) {
	for _, s := range []string{
		"", " ", "a,,b", "*.calltouch.ru,", "*", "*.", "*calltouch.ru", "*.*.calltouch.ru",
		"calltouch.ru:0", "calltouch.ru:65536", "calltouch.ru:x", "calltouch.ru:080",
		"*.127.0.0.1", "http://calltouch.ru", "calltouch.ru/path", "api_node.calltouch.ru",
		"[::1", "[::1]x", "fe80::1%eth0", "a b",
	} {
		if a, err := ParseHostAllowlist(s); err == nil {
			t.Errorf("ParseHostAllowlist(%q) = %+v, want an error", s, a)
		}
	}
}

func TestParseHostAllowlist_KeepsTheListForMessages(t *testing.T) {
	a, err := ParseHostAllowlist(" 127.0.0.1 , *.calltouch.ru:443,[::1]:9000")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.String(), "127.0.0.1,*.calltouch.ru:443,[::1]:9000"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
