package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"ctjournal/app"
)

var quarantineCommand = command{
	name:    "quarantine",
	usage:   []string{"quarantine [--json]", "quarantine retry POSITION… | --all"},
	summary: "list the log records the projection set aside, or apply them again",
	about: `Lists the log records the projection could not apply and set aside:
position, order, when, error. "retry" applies the records at the positions
given, or every one with --all, again in log order; one that fails again
stays aside, and the command then exits 1.`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print the records as JSON")
		all := fs.Bool("all", false, "with retry: every record set aside")
		return func(ctx context.Context, args []string, env Env) error {
			if len(args) > 0 && args[0] == "retry" {
				return retryQuarantined(ctx, args[1:], *all, env)
			}
			if len(args) > 0 {
				return usageError{fmt.Sprintf("unknown argument %q (want retry, or none)", args[0])}
			}
			if *all {
				return usageError{"--all goes with retry"}
			}
			return listQuarantined(ctx, *asJSON, env)
		}
	},
}

// listQuarantined prints the log records the projection set aside.
func listQuarantined(ctx context.Context, asJSON bool, env Env) error {
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	recs, err := a.Queries.ListQuarantined.Handle(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printQuarantinedJSON(env.Stdout, recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(env.Stdout, "no log records are set aside")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POSITION\tORDER\tSET ASIDE (UTC)\tERROR")
	for _, r := range recs {
		order := r.OrderID
		if order == "" {
			order = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Position, order, r.At.Format(time.DateTime), r.Error)
	}
	return tw.Flush()
}

// quarantinedJSON is one record of `ctjournal quarantine --json`.
type quarantinedJSON struct {
	Position      int64     `json:"position"`
	OrderID       *string   `json:"order_id"` // null when the record names none that can be read
	Error         string    `json:"error"`
	QuarantinedAt time.Time `json:"quarantined_at"`
	RecordedAt    time.Time `json:"recorded_at"`
}

func printQuarantinedJSON(w io.Writer, recs []app.QuarantinedRecord) error {
	out := make([]quarantinedJSON, 0, len(recs))
	for _, r := range recs {
		j := quarantinedJSON{Position: r.Position, Error: r.Error, QuarantinedAt: r.At, RecordedAt: r.RecordedAt}
		if r.OrderID != "" {
			j.OrderID = &r.OrderID
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// retryQuarantined applies the records at the positions given, or every
// one with all, again; it fails when any stays aside.
func retryQuarantined(ctx context.Context, args []string, all bool, env Env) error {
	var positions []int64
	for _, arg := range args {
		p, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || p <= 0 {
			return usageError{fmt.Sprintf("position %q is not a log position", arg)}
		}
		positions = append(positions, p)
	}
	if all == (len(positions) > 0) {
		return usageError{"retry takes POSITION… or --all"}
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	outcomes, err := a.Commands.RetryQuarantined.Handle(ctx, positions)
	if err != nil {
		return err
	}
	aside := 0
	for _, o := range outcomes {
		if o.Applied {
			fmt.Fprintf(env.Stdout, "%d: applied\n", o.Position)
			continue
		}
		aside++
		fmt.Fprintf(env.Stdout, "%d: still set aside: %s\n", o.Position, o.Error)
	}
	if aside > 0 {
		return fmt.Errorf("%d of %d records still set aside", aside, len(outcomes))
	}
	if len(outcomes) == 0 {
		fmt.Fprintln(env.Stdout, "no log records are set aside")
	}
	return nil
}
