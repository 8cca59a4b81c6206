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

// quarantine lists the log records the projection set aside, or with
// "retry" applies some of them again.
func quarantine(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && args[0] == "retry" {
		return retryQuarantined(ctx, args[1:], env)
	}
	fs := flag.NewFlagSet("quarantine", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the records as JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unknown argument %q (want retry, or none)", fs.Arg(0))}
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	recs, err := a.Queries.ListQuarantined.Handle(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
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
// one with --all, again; it fails when any stays aside.
func retryQuarantined(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("quarantine retry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "retry every record set aside")
	var positions []int64
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return usageError{err.Error()}
		}
		if args = fs.Args(); len(args) > 0 {
			p, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || p <= 0 {
				return usageError{fmt.Sprintf("position %q is not a log position", args[0])}
			}
			positions = append(positions, p)
			args = args[1:]
		}
	}
	if *all == (len(positions) > 0) {
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
