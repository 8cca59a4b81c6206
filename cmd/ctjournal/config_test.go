package main

import (
	"strings"
	"testing"
)

func TestLoadConfig_CalltouchAllowedHosts(t *testing.T) {
	env := func(value string) func(string) string {
		return func(name string) string {
			if name == "CTJ_CALLTOUCH_ALLOWED_HOSTS" {
				return value
			}
			return ""
		}
	}
	cfg, err := LoadConfig(env(""))
	if err != nil || cfg.CalltouchAllowedHosts.String() != "*.calltouch.ru" {
		t.Errorf("unset: %q, %v; want the default *.calltouch.ru", cfg.CalltouchAllowedHosts, err)
	}
	cfg, err = LoadConfig(env("127.0.0.1, *.calltouch.ru"))
	if err != nil || cfg.CalltouchAllowedHosts.Check("http://127.0.0.1:9000") != nil {
		t.Errorf("127.0.0.1 listed: %q, %v; want http://127.0.0.1:9000 allowed", cfg.CalltouchAllowedHosts, err)
	}
	if _, err := LoadConfig(env("*")); err == nil || !strings.HasPrefix(err.Error(), "CTJ_CALLTOUCH_ALLOWED_HOSTS") {
		t.Errorf("*: %v, want an error naming CTJ_CALLTOUCH_ALLOWED_HOSTS", err)
	}
}
