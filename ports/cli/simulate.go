package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// simulationToken stands in for the token a simulation never uses, so a
// policy file may leave it out or keep the masked one GET shows.
const simulationToken = "simulation-needs-no-token"

var simulateCommand = command{
	name:    "simulate",
	usage:   []string{"simulate --widget W --policy FILE.json [--since T] [--until T] [--json]"},
	summary: "replay a widget's orders under another policy; writes and sends nothing",
	about: `Replays the widget's orders ordered (call.ordered occurred_at) in
[since, until) under the policy in FILE.json and shows which leads would
be added, removed or changed. Writes and sends nothing. The file is a
policy as PUT takes it (a GET answer works too); T is an RFC 3339 time or
a date.`,
	flags: func(fs *flag.FlagSet) action {
		widget := fs.String("widget", "", "the widget `W` (required)")
		policyFile := fs.String("policy", "", "the policy `FILE.json` to try (required)")
		var since, until timeFlag
		fs.Var(&since, "since", "orders ordered at or after `T`")
		fs.Var(&until, "until", "orders ordered before `T`")
		asJSON := fs.Bool("json", false, "print JSON")
		return func(ctx context.Context, args []string, env Env) error {
			if err := noArguments(args); err != nil {
				return err
			}
			switch {
			case *widget == "":
				return usageError{"--widget is required"}
			case *policyFile == "":
				return usageError{"--policy FILE.json is required"}
			case since.t != nil && until.t != nil && !since.t.Before(*until.t):
				return usageError{"--since must be before --until"}
			}
			return simulate(ctx, app.HistoryFilter{WidgetID: *widget, Since: since.t, Until: until.t}, *policyFile, *asJSON, env)
		}
	},
}

func simulate(ctx context.Context, filter app.HistoryFilter, policyFile string, asJSON bool, env Env) error {
	policy, err := readPolicyFile(policyFile)
	if err != nil {
		return err
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	r, err := a.Queries.SimulatePolicy.Handle(ctx, filter, policy)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(env.Stdout, r)
	}
	return printSimulation(env.Stdout, r)
}

// readPolicyFile reads a policy as PUT takes it. A GET answer works too:
// its version is dropped, and a missing or masked token is replaced, since
// a simulation never reaches Calltouch.
func readPolicyFile(path string) (domain.Policy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return domain.Policy{}, fmt.Errorf("read policy: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return domain.Policy{}, fmt.Errorf("policy %s: not a JSON object: %w", path, err)
	}
	delete(fields, "version")
	var token string
	if t, ok := fields["token"]; !ok || json.Unmarshal(t, &token) != nil || token == "" || strings.HasPrefix(token, "****") {
		fields["token"], _ = json.Marshal(simulationToken)
	}
	raw, _ = json.Marshal(fields)
	p, err := wire.ParsePolicy(raw)
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return p, fmt.Errorf("policy %s: %s: %s", path, fe.Field, fe.Message)
	}
	return p, err
}

// printSimulation writes a simulation for an analyst: totals first, then
// each lead that would be added, removed or changed.
func printSimulation(w io.Writer, r app.SimulationReport) error {
	var b strings.Builder
	t := r.Totals
	fmt.Fprintf(&b, "Simulation of widget %s: %d orders ordered %s (call.ordered occurred_at)\n", r.WidgetID, t.Orders, span(r.Since, r.Until))
	fmt.Fprintf(&b, "Nothing is written or sent.\n\n")
	fmt.Fprintf(&b, "              recorded  simulated\n")
	fmt.Fprintf(&b, "  leads sent   %8d   %8d\n", t.Before.Leads, t.After.Leads)
	fmt.Fprintf(&b, "  skipped      %8d   %8d\n", t.Before.Skipped, t.After.Skipped)
	fmt.Fprintf(&b, "  waiting      %8d   %8d\n", t.Before.Waiting, t.After.Waiting)
	changes(&b, "Leads added", r.Added)
	changes(&b, "Leads removed", r.Removed)
	changes(&b, "Decisions changed", r.Changed)
	fmt.Fprintf(&b, "\nTotals: %d added, %d removed, %d changed, %d unchanged\n", t.Added, t.Removed, t.Changed, t.Unchanged)
	_, err := io.WriteString(w, b.String())
	return err
}

func changes(b *strings.Builder, title string, cs []app.LeadChange) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s (%d)\n", title, len(cs))
	for _, c := range cs {
		subject := "at order time"
		if c.Attempt != nil {
			subject = fmt.Sprintf("attempt %d", *c.Attempt)
		}
		fmt.Fprintf(b, "  order %s, %s\n", c.OrderID, subject)
		fmt.Fprintf(b, "    recorded:  %s\n", describe(c.Before))
		fmt.Fprintf(b, "    simulated: %s\n", describe(c.After))
		if c.Before != nil && c.After != nil && c.Before.Payload != nil && c.After.Payload != nil &&
			string(c.Before.Payload) != string(c.After.Payload) {
			fmt.Fprintf(b, "    payload recorded:  %s\n    payload simulated: %s\n", c.Before.Payload, c.After.Payload)
		}
	}
}

func describe(d *app.SimulatedDecision) string {
	if d == nil {
		return "no decision"
	}
	s := strings.ToUpper(d.Decision)
	if d.Key != nil {
		s += " lead " + *d.Key
	}
	if d.Status != "" && d.Key != nil {
		s += " (" + d.Status + ")"
	}
	return s + " — " + d.Reason
}
