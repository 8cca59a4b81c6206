package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// commands is every subcommand, in the order the usage lists them; a new
// command is one more entry.
func commands() []command {
	return []command{serveCommand, explainCommand, redeliverCommand, rebuildCommand, simulateCommand, quarantineCommand, copyStoreCommand}
}

// command is one subcommand. Its --help is written from its usage lines,
// its about text and the flags it declares.
type command struct {
	name    string
	usage   []string // what follows "ctjournal " on each usage line
	summary string   // one line, for the list of commands
	about   string   // what it does, for its --help
	// flags declares the command's flags on fs and returns what runs the
	// command, with its positional arguments, once they are parsed.
	flags func(fs *flag.FlagSet) action
}

type action func(ctx context.Context, args []string, env Env) error

// run parses the command's flags and runs it: --help prints its help and
// exits 0 before anything is configured or opened; a wrong flag or
// argument prints its usage and exits 2.
func (c command) run(ctx context.Context, args []string, env Env) int {
	fs := c.flagSet()
	act := c.flags(fs)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(env.Stdout)
		return 0
	}
	if err != nil {
		return c.wrongCall(env, err.Error())
	}
	if env.Configure != nil {
		if err := env.Configure(); err != nil {
			fmt.Fprintln(env.Stderr, "ctjournal: configuration:", err)
			return 2
		}
	}
	err = act(ctx, positional, env)
	var wrong usageError
	var exit ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &wrong):
		return c.wrongCall(env, wrong.msg)
	case errors.As(err, &exit):
		fmt.Fprintf(env.Stderr, "ctjournal %s: %s\n", c.name, exit.Err)
		return exit.Code
	default:
		fmt.Fprintf(env.Stderr, "ctjournal %s: %s\n", c.name, err)
		return 1
	}
}

func (c command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by run
	return fs
}

func (c command) wrongCall(env Env, msg string) int {
	fmt.Fprintf(env.Stderr, "ctjournal %s: %s\n\n", c.name, msg)
	c.printHelp(env.Stderr)
	return 2
}

// parseInterspersed parses flags before, between and after the positional
// arguments ("explain ID --json"); whatever follows "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		switch {
		case len(rest) == 0:
			return positional, nil
		case len(rest) < len(args) && args[len(args)-len(rest)-1] == "--":
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// printHelp writes the command's usage lines, what it does, and its flags.
func (c command) printHelp(w io.Writer) {
	fs := c.flagSet()
	c.flags(fs)
	var b strings.Builder
	for i, u := range c.usage {
		prefix := "usage: "
		if i > 0 {
			prefix = "       "
		}
		fmt.Fprintf(&b, "%sctjournal %s\n", prefix, u)
	}
	fmt.Fprintf(&b, "\n%s\n\nflags:\n", strings.TrimSpace(c.about))
	type row struct{ left, usage string }
	var rows []row
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if arg != "" {
			left += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
	})
	rows = append(rows, row{"-h, --help", "print this help"})
	width := 0
	for _, r := range rows {
		width = max(width, len(r.left))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.left, r.usage)
	}
	_, _ = io.WriteString(w, b.String())
}
