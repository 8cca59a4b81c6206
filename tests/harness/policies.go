package harness

import (
	"fmt"
	"maps"
	"strings"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// TestToken is the Calltouch token of the policies the tests set, and
// RotatedToken the one a test rotates to; they must never come back from
// the engine, in an answer or in its log.
const (
	TestToken    = "ct-token-7f3a9c21e4b85d60"
	RotatedToken = "ct-token-rotated-000000000042"
)

// leakedToken reports a Calltouch token found in serve's log or in an
// answer the tests got from it.
func (p *Process) leakedToken() error {
	for _, secret := range []string{TestToken, RotatedToken} {
		if strings.Contains(p.Logs(), secret) {
			return fmt.Errorf("serve's log contains the Calltouch token %s", secret)
		}
		if strings.Contains(p.Responses(), secret) {
			return fmt.Errorf("an API answer contained the Calltouch token %s", secret)
		}
	}
	return nil
}

// PolicyFor is a valid policy sending to fake, with overrides applied (a nil
// override removes the field; "{fake}" in a server stands for fake's URL).
func PolicyFor(fake *calltouchfake.Server, overrides map[string]any) map[string]any {
	p := Merge(map[string]any{
		"enabled": true,
		"site_id": "12345",
		"server":  fake.URL(),
		"token":   TestToken,
		"hook":    "after_call",
	}, overrides)
	if server, ok := p["server"].(string); ok {
		p["server"] = strings.ReplaceAll(server, "{fake}", fake.URL())
	}
	return p
}

func Merge(base, overrides map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range overrides {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
