// Package cli is ctjournal's command-line port: it parses subcommands and
// flags, calls the app, and prints for people (or JSON for machines).
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"ctjournal/app"
)

// Env is what the commands need from the wiring. Configure reads the
// configuration: it is called once a command's flags are parsed, never
// for help, version or a wrong flag, so that those work whatever the
// environment holds. Open connects to the store for one command and
// returns a function that disconnects; CopyStore opens it with the empty
// PostgreSQL store at a URL, for copy-store.
type Env struct {
	Stdout, Stderr io.Writer
	Version        string
	Configure      func() error
	Serve          func(ctx context.Context) error
	Open           func(ctx context.Context) (app.Application, func(), error)
	CopyStore      func(ctx context.Context, to string) (app.CopyStore, func(), error)
}

// Run runs one command and returns the process exit code: 0 success (help
// and version included), 1 the command failed, 2 it was called wrongly or
// the configuration is wrong.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		printUsage(env.Stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return help(args[1:], env)
	case "version", "-version", "--version":
		fmt.Fprintf(env.Stdout, "ctjournal %s\n", env.Version)
		return 0
	}
	c, ok := lookup(args[0])
	if !ok {
		return unknown(args[0], env)
	}
	return c.run(ctx, args[1:], env)
}

// help prints the usage, or one command's help: "ctjournal help explain".
func help(args []string, env Env) int {
	switch len(args) {
	case 0:
		printUsage(env.Stdout)
		return 0
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			return unknown(args[0], env)
		}
		c.printHelp(env.Stdout)
		return 0
	}
	fmt.Fprintf(env.Stderr, "ctjournal help: takes at most one COMMAND\n\n")
	printUsage(env.Stderr)
	return 2
}

func unknown(name string, env Env) int {
	kind := "command"
	if strings.HasPrefix(name, "-") {
		kind = "flag"
	}
	fmt.Fprintf(env.Stderr, "ctjournal: unknown %s %q\n\n", kind, name)
	printUsage(env.Stderr)
	return 2
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// printUsage lists the commands, each with its summary.
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: ctjournal COMMAND [arguments]\n\ncommands:\n")
	line := func(name, summary string) { fmt.Fprintf(&b, "  %-12s%s\n", name, summary) }
	for _, c := range commands() {
		line(c.name, c.summary)
	}
	line("help", "print this usage; help COMMAND prints the command's")
	line("version", "print the version (also --version)")
	b.WriteString("\n'ctjournal COMMAND --help' prints a command's arguments and flags.\n")
	b.WriteString("Configuration is read from the environment; see the README.\n")
	_, _ = io.WriteString(w, b.String())
}

// ExitError ends a command with its own exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e ExitError) Error() string { return e.Err.Error() }
func (e ExitError) Unwrap() error { return e.Err }

// usageError is a command called wrongly: exit code 2, with its usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// oneArgument is the single positional argument a command takes.
func oneArgument(args []string, name string) (string, error) {
	if len(args) != 1 {
		return "", usageError{"want exactly one " + name}
	}
	return args[0], nil
}

// noArguments refuses positional arguments to a command that takes none.
func noArguments(args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("takes no arguments, got %q", args[0])}
	}
	return nil
}
