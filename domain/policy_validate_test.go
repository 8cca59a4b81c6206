package domain

import (
	"testing"
)

func TestPolicyValidate_AllowsFiltersWithAfterCallOrWithoutBeforeCall(t *testing.T) {
	p := Policy{Enabled: true, SiteID: "1", Server: "api.calltouch.ru", Token: "t", Hook: HookAfterCall,
		OnlySuccessful: true, OnlyLastAttempt: true}
	if err := p.Validate(); err != nil {
		t.Errorf("after_call with both filters: %v", err)
	}
	p.Hook, p.OnlySuccessful, p.OnlyLastAttempt = HookBeforeCall, false, false
	if err := p.Validate(); err != nil {
		t.Errorf("before_call without filters: %v", err)
	}
	p.Hook = ""
	if err := p.Validate(); err == nil {
		t.Error("a policy built without a hook: want an error")
	}
}

func TestPolicyBaseURL(t *testing.T) {
	tests := []struct{ server, want string }{
		{"api-node18.calltouch.ru", "https://api-node18.calltouch.ru"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000"},
		{"https://proxy.example.com/calltouch/", "https://proxy.example.com/calltouch"},
	}
	for _, tt := range tests {
		if got := (Policy{Server: tt.server}).BaseURL(); got != tt.want {
			t.Errorf("BaseURL of %q = %q, want %q", tt.server, got, tt.want)
		}
	}
}
