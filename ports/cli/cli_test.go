package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"ctjournal/app"
)

// spyEnv records what a command touched: the configuration, the engine,
// the store.
type spyEnv struct {
	out, err                   bytes.Buffer
	configured, served, opened bool
	configErr                  error
}

func (s *spyEnv) env() Env {
	return Env{
		Stdout: &s.out, Stderr: &s.err, Version: "v1.2.3",
		Configure: func() error { s.configured = true; return s.configErr },
		Serve:     func(context.Context) error { s.served = true; return nil },
		Open: func(context.Context) (app.Application, func(), error) {
			s.opened = true
			return app.Application{}, nil, errors.New("the store is not there in this test")
		},
	}
}

func (s *spyEnv) touched() bool { return s.configured || s.served || s.opened }

func run(args ...string) (int, *spyEnv) {
	s := &spyEnv{}
	return Run(context.Background(), args, s.env()), s
}

func TestHelp_PrintsTheUsageAndExits0(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}} {
		code, s := run(args...)
		if code != 0 || !strings.HasPrefix(s.out.String(), "usage: ctjournal COMMAND") || s.err.Len() > 0 || s.touched() {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, touched %v; want 0 and the usage on stdout only", args, code, s.out.String(), s.err.String(), s.touched())
		}
		for _, c := range commands() {
			if !strings.Contains(s.out.String(), "\n  "+c.name+" ") {
				t.Errorf("%v: the usage does not list %s", args, c.name)
			}
		}
	}
}

// Every command, those added later included, prints its usage with each of
// its flags on --help and -h, and starts or opens nothing.
func TestCommandHelp_ShowsItsFlagsAndTouchesNothing(t *testing.T) {
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {c.name, "x", "-help"}, {"help", c.name}} {
			code, s := run(args...)
			out := s.out.String()
			if code != 0 || !strings.HasPrefix(out, "usage: ctjournal "+c.name) || s.err.Len() > 0 || s.touched() {
				t.Errorf("%v: exit %d, stdout %q, stderr %q, touched %v; want 0 and its usage on stdout only",
					args, code, out, s.err.String(), s.touched())
				continue
			}
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(out, "  --"+f.Name) || !strings.Contains(out, strings.ReplaceAll(f.Usage, "`", "")) {
					t.Errorf("%v: --%s is not shown with its usage:\n%s", args, f.Name, out)
				}
			})
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, s := run(arg)
		if code != 0 || s.out.String() != "ctjournal v1.2.3\n" || s.touched() {
			t.Errorf("%s: exit %d, %q, touched %v; want 0, ctjournal v1.2.3", arg, code, s.out.String(), s.touched())
		}
	}
}

func TestWrongCalls_PrintTheUsageAndExit2(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		usage string // the usage printed with the error
	}{
		{nil, "usage: ctjournal COMMAND"},
		{[]string{"bogus"}, "usage: ctjournal COMMAND"},
		{[]string{"--bogus"}, "usage: ctjournal COMMAND"},
		{[]string{"help", "bogus"}, "usage: ctjournal COMMAND"},
		{[]string{"serve", "--bogus"}, "usage: ctjournal serve"},
		{[]string{"explain", "ord-1", "--bogus"}, "usage: ctjournal explain"},
		{[]string{"explain", "--since"}, "usage: ctjournal explain"},
		{[]string{"simulate", "--widget", "w", "--json=maybe"}, "usage: ctjournal simulate"},
		{[]string{"rebuild", "--all"}, "usage: ctjournal rebuild"},
		{[]string{"redeliver", "-x", "k"}, "usage: ctjournal redeliver"},
	} {
		code, s := run(tc.args...)
		if code != 2 || !strings.Contains(s.err.String(), tc.usage) || s.out.Len() > 0 || s.touched() {
			t.Errorf("%v: exit %d, stderr %q, stdout %q, touched %v; want 2 and %q on stderr", tc.args, code, s.err.String(), s.out.String(), s.touched(), tc.usage)
		}
	}
	// Arguments are checked once the flags parse; the store is never opened.
	for _, args := range [][]string{
		{"serve", "extra"},
		{"explain"},
		{"explain", "a", "b"},
		{"explain", "ord-1", "--since", "2026-01-01"},
		{"redeliver"},
		{"rebuild", "now"},
		{"simulate", "--widget", "w"},
	} {
		code, s := run(args...)
		if code != 2 || !strings.Contains(s.err.String(), "usage: ctjournal "+args[0]) || s.served || s.opened {
			t.Errorf("%v: exit %d, stderr %q, served %v, opened %v; want 2 and its usage", args, code, s.err.String(), s.served, s.opened)
		}
	}
}

func TestConfiguration_ReadOnlyToRunACommand(t *testing.T) {
	s := &spyEnv{configErr: errors.New("CTJ_RETRY_BASE \"x\": want a duration")}
	code := Run(context.Background(), []string{"serve"}, s.env())
	if code != 2 || !strings.Contains(s.err.String(), "configuration: CTJ_RETRY_BASE") || s.served {
		t.Errorf("serve with a bad configuration: exit %d, %q, served %v; want 2 naming the variable", code, s.err.String(), s.served)
	}
	code, s = run("serve")
	if code != 0 || !s.configured || !s.served {
		t.Errorf("serve: exit %d, configured %v, served %v", code, s.configured, s.served)
	}
}

// Flags go before or after the positional argument; after "--" everything
// is positional.
func TestFlagsAroundArguments(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	for _, tc := range []struct {
		args []string
		want []string
		json bool
	}{
		{[]string{"ord-1", "--json"}, []string{"ord-1"}, true},
		{[]string{"--json", "ord-1"}, []string{"ord-1"}, true},
		{[]string{"ord-1"}, []string{"ord-1"}, false},
		{[]string{"--", "-odd"}, []string{"-odd"}, false},
		{[]string{"a", "--", "-b", "--json"}, []string{"a", "-b", "--json"}, false},
	} {
		*asJSON = false
		got, err := parseInterspersed(fs, tc.args)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") || *asJSON != tc.json {
			t.Errorf("%q: %q, json %v, %v; want %q, json %v", tc.args, got, *asJSON, err, tc.want, tc.json)
		}
	}
}
