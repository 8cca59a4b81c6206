package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"ctjournal/app"
)

// timeFlag is an optional RFC 3339 time, or a date (midnight UTC).
type timeFlag struct{ t *time.Time }

func (f *timeFlag) String() string {
	if f.t == nil {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			f.t = &t
			return nil
		}
	}
	return fmt.Errorf("%q is not an RFC 3339 time (2026-11-24T10:15:00+03:00) or a date (2026-11-24)", s)
}

// wantsWidgetSummary tells "explain --widget W" from "explain ORDER_ID".
func wantsWidgetSummary(args []string) bool {
	for _, a := range args {
		if a == "--widget" || a == "-widget" || strings.HasPrefix(a, "--widget=") || strings.HasPrefix(a, "-widget=") {
			return true
		}
	}
	return false
}

func explainWidget(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	widget := fs.String("widget", "", "widget id")
	var since, until timeFlag
	fs.Var(&since, "since", "decisions taken at or after this time")
	fs.Var(&until, "until", "decisions taken before this time")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"give either ORDER_ID or --widget W, not both"}
	}
	if *widget == "" {
		return usageError{"--widget needs a widget id"}
	}
	if since.t != nil && until.t != nil && !since.t.Before(*until.t) {
		return usageError{"--since must be before --until"}
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	s, err := a.Queries.ExplainWidget.Handle(ctx, app.WidgetFilter{WidgetID: *widget, Since: since.t, Until: until.t})
	if errors.Is(err, app.ErrNotFound) {
		return fmt.Errorf("widget %s has no orders", *widget)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, s)
	}
	return printWidgetSummary(env.Stdout, s)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printWidgetSummary writes a widget summary for a support person.
func printWidgetSummary(w io.Writer, s app.WidgetSummary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Widget %s: decisions taken %s\n", s.WidgetID, span(s.Since, s.Until))
	fmt.Fprintf(&b, "%d decisions on %d orders\n\n", s.Decisions, s.Orders)
	width := len(fmt.Sprint(s.Decisions))
	b.WriteString("By status\n")
	for _, st := range app.LeadStatuses {
		fmt.Fprintf(&b, "  %-10s %*d  %s\n", st, width, s.ByStatus[st], statusMeaning[st])
	}
	reasons(&b, "Skipped, by reason", s.SkipReasons, width)
	reasons(&b, "Waiting, by reason", s.WaitReasons, width)
	_, err := io.WriteString(w, b.String())
	return err
}

var statusMeaning = map[string]string{
	app.StatusDelivered: "leads Calltouch accepted",
	app.StatusPending:   "leads on their way (queued or being retried)",
	app.StatusFailed:    "leads Calltouch refused, or given up",
	app.StatusSkipped:   "not sent, by the rules (reasons below)",
	app.StatusWaiting:   "waiting for more facts",
}

func reasons(b *strings.Builder, title string, rs []app.ReasonCount, width int) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", title)
	for _, r := range rs {
		fmt.Fprintf(b, "  %*d  %s\n", width, r.Count, r.Reason)
	}
}

// span says which times a summary covers, in UTC.
func span(since, until *time.Time) string {
	const layout = "2006-01-02 15:04:05 UTC"
	switch {
	case since == nil && until == nil:
		return "at any time"
	case until == nil:
		return "since " + since.UTC().Format(layout)
	case since == nil:
		return "before " + until.UTC().Format(layout)
	}
	return "from " + since.UTC().Format(layout) + " to " + until.UTC().Format(layout)
}
