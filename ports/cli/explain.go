package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"ctjournal/app"
)

var explainCommand = command{
	name:    "explain",
	usage:   []string{"explain ORDER_ID [--json]", "explain --widget W [--since T] [--until T] [--json]"},
	summary: "print an order's timeline and decisions, or count a widget's",
	about: `Prints the order's timeline and every decision with its reason (--json:
the same JSON as GET /v1/orders/{id}). With --widget, counts the widget's
decisions by status and its skips by reason, for decisions taken in
[since, until); T is an RFC 3339 time or a date.`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON")
		widget := fs.String("widget", "", "count the decisions of widget `W` instead")
		var since, until timeFlag
		fs.Var(&since, "since", "with --widget: decisions taken at or after `T`")
		fs.Var(&until, "until", "with --widget: decisions taken before `T`")
		return func(ctx context.Context, args []string, env Env) error {
			if isSet(fs, "widget") {
				if len(args) > 0 {
					return usageError{"give either ORDER_ID or --widget W, not both"}
				}
				return explainWidget(ctx, app.WidgetFilter{WidgetID: *widget, Since: since.t, Until: until.t}, *asJSON, env)
			}
			if since.t != nil || until.t != nil {
				return usageError{"--since and --until go with --widget"}
			}
			orderID, err := oneArgument(args, "ORDER_ID")
			if err != nil {
				return err
			}
			return explainOrder(ctx, orderID, *asJSON, env)
		}
	},
}

// isSet tells whether the flag was given, even with an empty value.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func explainOrder(ctx context.Context, orderID string, asJSON bool, env Env) error {
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
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(x)
	}
	return printExplanation(env.Stdout, x)
}
