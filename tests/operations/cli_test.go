package operations

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ctjournal/tests/harness"
)

// runBinary runs bin with args in an environment of only env, and returns
// what it printed and its exit code.
func runBinary(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), harness.WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ctjournal %v did not end within %s: it started something", args, harness.WaitLimit)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("ctjournal %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// badEnv would stop any command that read the configuration, and points at
// a store that is not there: help and version must not need either.
var badEnv = []string{
	"CTJ_RETRY_BASE=not-a-duration",
	"DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
}

// TestCLI_HelpVersionAndWrongCalls checks docs/api.md's Running: help and
// COMMAND --help/-h print usage and exit 0 without starting or opening
// anything, --version and version print the version, and an unknown
// command or flag prints the usage and exits 2.
func TestCLI_HelpVersionAndWrongCalls(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		out, errOut, code := runBinary(t, harness.Binary, badEnv, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: ctjournal COMMAND") || errOut != "" {
			t.Errorf("ctjournal %v: exit %d, stdout %q, stderr %q; want 0 and the usage", args, code, out, errOut)
		}
	}
	commands := map[string][]string{ // each command and flags its help must show
		"serve":      nil,
		"explain":    {"--json", "--widget W", "--since T", "--until T"},
		"redeliver":  nil,
		"rebuild":    nil,
		"simulate":   {"--widget W", "--policy FILE.json", "--since T", "--until T", "--json"},
		"copy-store": {"--to URL"},
	}
	for name, flags := range commands {
		for _, help := range []string{"--help", "-h"} {
			out, errOut, code := runBinary(t, harness.Binary, badEnv, name, help)
			if code != 0 || !strings.HasPrefix(out, "usage: ctjournal "+name) || errOut != "" {
				t.Errorf("ctjournal %s %s: exit %d, stdout %q, stderr %q; want 0 and its usage", name, help, code, out, errOut)
			}
			for _, f := range flags {
				if !strings.Contains(out, "  "+f) {
					t.Errorf("ctjournal %s %s does not show %s:\n%s", name, help, f, out)
				}
			}
		}
	}
	for _, args := range [][]string{{"bogus"}, {"--bogus"}, {"serve", "--bogus"}, {"explain", "--bogus", "ord-1"}} {
		out, errOut, code := runBinary(t, harness.Binary, badEnv, args...)
		if code != 2 || !strings.Contains(errOut, "usage: ctjournal") || out != "" {
			t.Errorf("ctjournal %v: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", args, code, out, errOut)
		}
	}
	// Running a command reads the configuration: a bad value is exit 2,
	// naming the variable.
	if _, errOut, code := runBinary(t, harness.Binary, badEnv, "rebuild"); code != 2 || !strings.Contains(errOut, "CTJ_RETRY_BASE") {
		t.Errorf("ctjournal rebuild with a bad CTJ_RETRY_BASE: exit %d, %q; want 2 naming it", code, errOut)
	}
}

// TestCLI_Version prints the version the build was given.
func TestCLI_Version(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "versioned")
	if err := harness.BuildBinary(bin, "-ldflags", "-X main.version=9.8.7-e2e"); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"--version", "version"} {
		out, errOut, code := runBinary(t, bin, badEnv, arg)
		if code != 0 || out != "ctjournal 9.8.7-e2e\n" {
			t.Errorf("ctjournal %s: exit %d, stdout %q, stderr %q; want 0, ctjournal 9.8.7-e2e", arg, code, out, errOut)
		}
	}
}
