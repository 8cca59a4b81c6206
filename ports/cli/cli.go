// Package cli is ctjournal's command-line port: it parses subcommands and
// flags, calls the app, and prints for people (or JSON for machines).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"ctjournal/app"
	"ctjournal/domain"
)

// Env is what the commands need from the wiring. Open connects to the
// store for one command and returns a function that disconnects.
type Env struct {
	Stdout, Stderr io.Writer
	Serve          func(ctx context.Context) error
	Open           func(ctx context.Context) (app.Application, func(), error)
}

const usage = `usage: ctjournal <command> [arguments]

commands:
  serve               run the engine: HTTP API, projection, delivery
  explain ORDER_ID    print the order's timeline and every decision (--json: as the HTTP API)
  explain --widget W [--since T] [--until T] [--json]
                      count a widget's decisions by status and skips by reason
                      (decided_at in [since, until); T is RFC 3339 or a date)
  redeliver KEY       send a failed lead again (same payload, a new try)
  rebuild             recreate the read models from the log; never sends;
                      safe while serve runs and to interrupt
  simulate --widget W --policy FILE.json [--since T] [--until T] [--json]
                      replay the widget's orders ordered (call.ordered
                      occurred_at) in [since, until) under another policy and
                      show which leads would be added, removed or changed;
                      writes and sends nothing
  quarantine [--json] list the log records the projection set aside
  quarantine retry POSITION… | --all
                      apply them again, in log order; one that fails stays aside

configuration is read from the environment; see the README.
`

// Run runs one command and returns the process exit code: 0 success, 1 the
// command failed, 2 it was called wrongly.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = env.Serve(ctx)
	case "explain":
		err = explain(ctx, args[1:], env)
	case "redeliver":
		err = redeliver(ctx, args[1:], env)
	case "rebuild":
		err = rebuild(ctx, args[1:], env)
	case "simulate":
		err = simulate(ctx, args[1:], env)
	case "quarantine":
		err = quarantine(ctx, args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "ctjournal: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var wrong usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &wrong):
		fmt.Fprintf(env.Stderr, "ctjournal %s: %s\n", args[0], wrong.msg)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "ctjournal %s: %s\n", args[0], err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// oneArgument parses flags and the single positional argument a command takes.
func oneArgument(fs *flag.FlagSet, args []string, name string) (string, error) {
	fs.SetOutput(io.Discard)
	// Accept flags before or after the argument: "explain ID --json".
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return "", usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) > 0 {
			positional = append(positional, args[0])
			args = args[1:]
		}
	}
	if len(positional) != 1 {
		return "", usageError{"want exactly one " + name}
	}
	return positional[0], nil
}

func explain(ctx context.Context, args []string, env Env) error {
	if wantsWidgetSummary(args) {
		return explainWidget(ctx, args, env)
	}
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the same JSON as GET /v1/orders/{id}")
	orderID, err := oneArgument(fs, args, "ORDER_ID")
	if err != nil {
		return err
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	x, err := a.Queries.ExplainOrder.Handle(ctx, orderID)
	if errors.Is(err, app.ErrNotFound) {
		return fmt.Errorf("order %s is not known", orderID)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	}
	return printExplanation(env.Stdout, x)
}

func redeliver(ctx context.Context, args []string, env Env) error {
	key, err := oneArgument(flag.NewFlagSet("redeliver", flag.ContinueOnError), args, "KEY")
	if err != nil {
		return err
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	err = a.Commands.RedeliverLead.Handle(ctx, domain.LeadKey(key))
	if errors.Is(err, app.ErrNotFound) {
		return fmt.Errorf("no lead with key %s", key)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "lead %s queued for delivery again\n", key)
	return nil
}
