package cli

import (
	"context"
	"encoding/json"
	"errors"
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

// explainWidget counts a widget's decisions by status and skip reason.
func explainWidget(ctx context.Context, filter app.WidgetFilter, asJSON bool, env Env) error {
	if filter.WidgetID == "" {
		return usageError{"--widget needs a widget id"}
	}
	if filter.Since != nil && filter.Until != nil && !filter.Since.Before(*filter.Until) {
		return usageError{"--since must be before --until"}
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	s, err := a.Queries.ExplainWidget.Handle(ctx, filter)
	if errors.Is(err, app.ErrNotFound) {
		return fmt.Errorf("widget %s has no orders", filter.WidgetID)
	}
	if err != nil {
		return err
	}
	if asJSON {
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
