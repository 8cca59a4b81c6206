package hostile

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// A policy may only send to a host CTJ_CALLTOUCH_ALLOWED_HOSTS allows:
// under the default, Calltouch's own nodes over https, nothing the engine
// could otherwise be pointed at.
func TestOutbound_PolicyServerOutsideTheDefaultAllowlistIsRefused(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_ALLOWED_HOSTS", "")) // unset: the default

	for _, server := range []string{
		"127.0.0.1:5432",
		"http://127.0.0.1:5432",
		"169.254.169.254",
		"http://169.254.169.254/latest/meta-data",
		"http://evil.example",
		"https://evil.example",
		"https://calltouch.ru.evil.example",
		"calltouch.ru",            // the bare suffix is not a subdomain of it
		"http://api.calltouch.ru", // plain http only for hosts listed exactly
		"http://[::1]:8080",
		e.Fake.URL(), // 127.0.0.1 is not allowed here
		e.URL(""),    // ctjournal itself
	} {
		status, got := e.DoJSON(http.MethodPut, "/v1/widgets/ob-default/calltouch", harness.PolicyFor(e.Fake, map[string]any{"server": server}))
		if status != http.StatusBadRequest || got["field"] != "server" || got["error"] == "" {
			t.Errorf("server %q: %d %v, want 400 with field server", server, status, got)
		}
	}
	if status, got := e.DoJSON(http.MethodGet, "/v1/widgets/ob-default/calltouch", nil); status != http.StatusNotFound {
		t.Errorf("after refused PUTs: %d %v, want 404: nothing stored", status, got)
	}
	for _, server := range []string{"api-node18.calltouch.ru", "https://api.calltouch.ru", "https://api-node18.calltouch.ru:443/"} {
		e.PutPolicy("ob-default-ok", harness.PolicyFor(e.Fake, map[string]any{"server": server}))
	}
}

// The allowlist is checked again before each send: a lead whose server was
// allowed when its policy was set, but is no longer, fails with the reason
// and reaches nobody.
func TestOutbound_LeadWhoseServerIsNoLongerAllowedFailsWithoutARequest(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_ALLOWED_HOSTS", "127.0.0.1"))
	e.PutPolicy("ob-gone", harness.PolicyFor(e.Fake, nil))
	e.MustPost(harness.Ordered("ob-gone-1", "ob-gone", nil), harness.Answered("ob-gone-1", "ob-gone", 1))
	e.WaitForLead("ob-gone-1~1", "delivered")

	e.Env["CTJ_CALLTOUCH_ALLOWED_HOSTS"] = "*.calltouch.ru"
	e.Restart()
	e.MustPost(harness.Ordered("ob-gone-2", "ob-gone", nil), harness.Answered("ob-gone-2", "ob-gone", 1))

	d := e.WaitForLead("ob-gone-2~1", "failed")
	if len(d.Tries) != 1 || d.Tries[0].HTTPStatus != nil || d.Tries[0].Error == nil ||
		!strings.Contains(*d.Tries[0].Error, "not allowed") || d.Tries[0].Outcome != "refused" {
		t.Errorf("tries %+v, want one refused try without an HTTP status, saying the server is not allowed", d.Tries)
	}
	harness.Settled(t, e.Fake, 1)
	if status, got := e.DoJSON(http.MethodPut, "/v1/widgets/ob-gone/calltouch", harness.PolicyFor(e.Fake, nil)); status != http.StatusBadRequest || got["field"] != "server" {
		t.Errorf("PUT the same policy again: %d %v, want 400 with field server", status, got)
	}
}

// Calltouch may quote the token back in its answer, in any encoding: no
// answer, CLI output or log line shows it, only its masked form.
func TestOutbound_TokenQuotedBackByCalltouchIsNeverShown(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	fake := e.NewFake(t)
	const token = "ct/tok+en&7f3a9c21<e4b85d60>"
	const masked = "****d60>"
	quoted, err := json.Marshal(token)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]string{
		"raw":             token,
		"json.Marshal":    string(quoted[1 : len(quoted)-1]),
		"escaped slashes": strings.ReplaceAll(token, "/", `\/`),
		"query-escaped":   url.QueryEscape(token),
		"path-escaped":    url.PathEscape(token),
	}
	var body strings.Builder
	body.WriteString(`{"error":"bad token"`)
	for name, form := range forms {
		body.WriteString(`,"` + name + `":"` + form + `"`)
	}
	body.WriteString("}")
	fake.Script(calltouchfake.Status(503, body.String()), calltouchfake.Status(400, body.String()))
	e.PutPolicy("ob-echo", harness.PolicyFor(fake, map[string]any{"token": token}))
	e.MustPost(harness.Ordered("ob-echo", "ob-echo", nil), harness.Answered("ob-echo", "ob-echo", 1))

	d := e.WaitForLead("ob-echo~1", "failed")
	if got := harness.StatusesOf(d.Tries); len(got) != 2 || got[0] != 503 || got[1] != 400 {
		t.Fatalf("tries %v, want 503 then 400", got)
	}
	if reqs := fake.Requests(); reqs[0].Header.Get("Access-Token") != token {
		t.Fatalf("the fake got Access-Token %q, want the policy's token", reqs[0].Header.Get("Access-Token"))
	}
	for _, tr := range d.Tries {
		if strings.Count(tr.Response, masked) != len(forms) {
			t.Errorf("response %q, want the token masked as %s in each of its %d forms", tr.Response, masked, len(forms))
		}
	}

	_, order := e.Do(http.MethodGet, "/v1/orders/ob-echo", "", nil)
	text, _, code := e.CLI("explain", "ob-echo")
	asJSON, _, jsonCode := e.CLI("explain", "--json", "ob-echo")
	if code != 0 || jsonCode != 0 {
		t.Fatalf("ctjournal explain exited %d, with --json %d; want 0", code, jsonCode)
	}
	for where, out := range map[string]string{
		"GET /v1/orders/ob-echo":   string(order),
		"ctjournal explain":        text,
		"ctjournal explain --json": asJSON,
		"serve's log":              e.Logs(),
	} {
		for name, form := range forms {
			if strings.Contains(out, form) {
				t.Errorf("%s shows the token (%s): %s", where, name, out)
			}
		}
	}
	if !strings.Contains(text, masked) {
		t.Errorf("ctjournal explain shows no masked token %s:\n%s", masked, text)
	}
}

// A bad allowlist stops every command at once, naming the variable.
func TestOutbound_BadAllowlistIsAConfigurationError(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"*", "calltouch.ru,", "http://api.calltouch.ru", "*.127.0.0.1"} {
		ctx, cancel := context.WithTimeout(context.Background(), harness.WaitLimit) // a serve that starts is killed
		defer cancel()
		cmd := exec.CommandContext(ctx, harness.Binary, "serve")
		cmd.Env = append(os.Environ(), "CTJ_CALLTOUCH_ALLOWED_HOSTS="+value)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "CTJ_CALLTOUCH_ALLOWED_HOSTS") {
			t.Errorf("serve with CTJ_CALLTOUCH_ALLOWED_HOSTS=%q: exit %d, %s; want exit 2 naming the variable", value, code, out)
		}
	}
}
