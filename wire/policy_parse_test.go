package wire

import (
	"errors"
	"testing"

	"ctjournal/domain"
)

const policyAccess = `"site_id":"12345","server":"api-node18.calltouch.ru","token":"tok-0123456789"`

func TestParsePolicy_AppliesDefaults(t *testing.T) {
	got, err := ParsePolicy([]byte(`{` + policyAccess + `}`))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Policy{Enabled: true, SiteID: "12345", Server: "api-node18.calltouch.ru", Token: "tok-0123456789", Hook: domain.HookAfterCall}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParsePolicy_ReadsEverySetting(t *testing.T) {
	body := `{"enabled":false,` + policyAccess + `,"hook":"before_call","only_successful":false,"only_last_attempt":null,
		"send_form_name":true,"send_order_date":true,"comment_details":true,"tap2call":true}`
	got, err := ParsePolicy([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Policy{SiteID: "12345", Server: "api-node18.calltouch.ru", Token: "tok-0123456789", Hook: domain.HookBeforeCall,
		SendFormName: true, SendOrderDate: true, CommentDetails: true, Tap2Call: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParsePolicy_RefusesInvalidPoliciesNamingTheField(t *testing.T) {
	const (
		msgServer = "must be a host name such as api-node18.calltouch.ru or an http or https URL such as http://127.0.0.1:9000"
		msgBool   = "must be true or false"
	)
	withAccess := func(rest string) string { return `{` + policyAccess + rest + `}` }
	withServer := func(server string) string {
		return `{"site_id":"12345","token":"tok-0123456789","server":` + server + `}`
	}
	tests := []struct {
		name    string
		body    string
		field   string
		message string
	}{
		{"not JSON", `{"site_id":`, "", "policy must be a JSON object"},
		{"an array", `[]`, "", "policy must be a JSON object"},
		{"null", `null`, "", "policy must be a JSON object"},
		{"unknown field", withAccess(`,"only_succesful":true`), "only_succesful", "unknown field"},
		{"field in another case", withAccess(`,"Enabled":true`), "Enabled", "unknown field"},
		{"first unknown field by name", withAccess(`,"zeta":1,"version":2`), "version", "unknown field"},
		{"site_id missing", `{"server":"api.calltouch.ru","token":"t"}`, "site_id", "required"},
		{"site_id blank", `{"site_id":"  ","server":"api.calltouch.ru","token":"t"}`, "site_id", "required"},
		{"site_id a number", `{"site_id":12345,"server":"api.calltouch.ru","token":"t"}`, "site_id", "must be a string"},
		{"server missing", `{"site_id":"1","token":"t"}`, "server", "required"},
		{"server a number", withServer(`1`), "server", "must be a string"},
		{"server with a path but no scheme", withServer(`"api.calltouch.ru/x"`), "server", msgServer},
		{"server host and port without scheme", withServer(`"127.0.0.1:9000"`), "server", msgServer},
		{"server with an underscore", withServer(`"api_node.calltouch.ru"`), "server", msgServer},
		{"server with an empty label", withServer(`"api..calltouch.ru"`), "server", msgServer},
		{"server label starting with a hyphen", withServer(`"-api.calltouch.ru"`), "server", msgServer},
		{"server with a space", withServer(`"api calltouch.ru"`), "server", msgServer},
		{"server with another scheme", withServer(`"ftp://api.calltouch.ru"`), "server", msgServer},
		{"server URL without host", withServer(`"http://"`), "server", msgServer},
		{"server URL with only a port", withServer(`"http://:9000"`), "server", msgServer},
		{"server URL with a host that is no host name", withServer(`"http://api_node.calltouch.ru:9000"`), "server", msgServer},
		{"server URL with credentials", withServer(`"https://user:pw@api.calltouch.ru"`), "server", msgServer},
		{"server URL with a query", withServer(`"https://api.calltouch.ru/?a=1"`), "server", msgServer},
		{"server URL with a fragment", withServer(`"https://api.calltouch.ru#x"`), "server", msgServer},
		{"token missing", `{"site_id":"1","server":"api.calltouch.ru"}`, "token", "required"},
		{"token empty", `{"site_id":"1","server":"api.calltouch.ru","token":""}`, "token", "required"},
		{"token a number", `{"site_id":"1","server":"api.calltouch.ru","token":42}`, "token", "must be a string"},
		{"token as GET masks it", `{"site_id":"1","server":"api.calltouch.ru","token":"****6789"}`, "token",
			"is the masked token; send the token itself"},
		{"token with a line break", `{"site_id":"1","server":"api.calltouch.ru","token":"abc\n"}`, "token",
			"must not contain spaces or control characters"},
		{"hook unknown", withAccess(`,"hook":"on_answer"`), "hook", "must be before_call or after_call"},
		{"hook a bool", withAccess(`,"hook":true`), "hook", "must be a string"},
		{"before_call with only_successful", withAccess(`,"hook":"before_call","only_successful":true`), "hook",
			"before_call cannot be combined with only_successful: a deferred order would be sent before its outcome is known"},
		{"before_call with only_last_attempt", withAccess(`,"hook":"before_call","only_last_attempt":true`), "hook",
			"before_call cannot be combined with only_last_attempt: a deferred order would be sent before its outcome is known"},
		{"before_call with both filters", withAccess(`,"hook":"before_call","only_successful":true,"only_last_attempt":true`), "hook",
			"before_call cannot be combined with only_successful or only_last_attempt: a deferred order would be sent before its outcome is known"},
		{"enabled a string", withAccess(`,"enabled":"true"`), "enabled", msgBool},
		{"only_successful a number", withAccess(`,"only_successful":1`), "only_successful", msgBool},
		{"only_last_attempt a string", withAccess(`,"only_last_attempt":"no"`), "only_last_attempt", msgBool},
		{"send_form_name a number", withAccess(`,"send_form_name":0`), "send_form_name", msgBool},
		{"send_order_date an object", withAccess(`,"send_order_date":{}`), "send_order_date", msgBool},
		{"comment_details an array", withAccess(`,"comment_details":[]`), "comment_details", msgBool},
		{"tap2call a string", withAccess(`,"tap2call":"on"`), "tap2call", msgBool},
		{"U+0000 in site_id", `{"site_id":"12\u00005","server":"api.calltouch.ru","token":"t"}`, "site_id", "must not contain U+0000"},
		{"U+0000 in server", withServer(`"api.calltouch.ru\u0000"`), "server", "must not contain U+0000"},
		{"U+0000 in token", `{"site_id":"1","server":"api.calltouch.ru","token":"\u0000tok"}`, "token", "must not contain U+0000"},
		{"U+0000 in hook", withAccess(`,"hook":"after_call\u0000"`), "hook", "must not contain U+0000"},
		{"U+0000 in a member name", withAccess(`,"tap2call\u0000":true`), "", "must not have a member name holding U+0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.body))
			var fe *domain.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *domain.FieldError, got %v", err)
			}
			if fe.Field != tt.field || fe.Message != tt.message {
				t.Errorf("got %q %q, want %q %q", fe.Field, fe.Message, tt.field, tt.message)
			}
		})
	}
}

func TestParsePolicy_AcceptsEveryServerForm(t *testing.T) {
	for _, server := range []string{
		"api.calltouch.ru",
		"api-node18.calltouch.ru",
		"localhost",
		"http://127.0.0.1:9000",
		"http://127.0.0.1:9000/",
		"https://api-node18.calltouch.ru",
		"https://proxy.example.com/calltouch/",
		"http://[::1]:9000",
	} {
		if _, err := ParsePolicy([]byte(`{"site_id":"1","token":"t","server":"` + server + `"}`)); err != nil {
			t.Errorf("server %q: %v", server, err)
		}
	}
}
