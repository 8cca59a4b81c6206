package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"ctjournal/app"
)

// printExplanation writes an order's story for a support person: the
// timeline first, then each decision with its reason, payload and tries.
func printExplanation(w io.Writer, x app.OrderExplanation) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Order %s (widget %s)\n", x.OrderID, x.WidgetID)
	if x.PolicyVersion != nil {
		fmt.Fprintf(&b, "Placed under policy version %d\n", *x.PolicyVersion)
	} else {
		b.WriteString("Placed under no Calltouch policy (or not placed yet)\n")
	}
	b.WriteString("\nTimeline (log order)\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\trecorded (UTC)\toccurred (UTC)\tevent\tattempt\tnote")
	for _, e := range x.Events {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", e.Position, stamp(e.RecordedAt), stamp(e.OccurredAt), e.Type, orDash(e.Attempt), deref(e.Note))
	}
	tw.Flush()
	if len(x.Quarantined) > 0 {
		b.WriteString("\nSet aside by the projection, not applied (ctjournal quarantine)\n")
		for _, q := range x.Quarantined {
			fmt.Fprintf(&b, "  %d  recorded %s  %s: %s\n", q.Position, stamp(q.RecordedAt), orText(q.Type, "unreadable record"), q.Error)
		}
	}
	b.WriteString("\nDecisions\n")
	if len(x.Decisions) == 0 {
		b.WriteString("  none yet\n")
	}
	for _, d := range x.Decisions {
		subject := "at order time"
		if d.Attempt != nil {
			subject = fmt.Sprintf("attempt %d", *d.Attempt)
		}
		fmt.Fprintf(&b, "  %s: %s", subject, strings.ToUpper(d.Decision))
		if d.Key != nil {
			fmt.Fprintf(&b, " lead %s", *d.Key)
		}
		fmt.Fprintf(&b, " — %s\n", d.Status)
		fmt.Fprintf(&b, "    why:      %s\n", d.Reason)
		fmt.Fprintf(&b, "    decided:  %s under policy version %s\n", stamp(d.DecidedAt), orDash(d.PolicyVersion))
		for _, warn := range d.Warnings {
			fmt.Fprintf(&b, "    warning:  %s\n", warn)
		}
		if len(d.Payload) > 0 {
			fmt.Fprintf(&b, "    payload:  %s\n", d.Payload)
		}
		for i, t := range d.Tries {
			fmt.Fprintf(&b, "    try %d:    %s  %s  %dms  %s\n", i+1, stamp(t.At), t.Outcome, t.DurationMS, tryDetail(t))
		}
		for _, h := range d.History {
			fmt.Fprintf(&b, "    %s: %s  %s\n", strings.ReplaceAll(h.Event, "_", " "), stamp(h.At), h.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tryDetail(t app.ExplainedTry) string {
	var parts []string
	if t.HTTPStatus != nil {
		parts = append(parts, fmt.Sprintf("HTTP %d", *t.HTTPStatus))
	}
	if t.Error != nil {
		parts = append(parts, *t.Error)
	}
	if t.Response != "" {
		parts = append(parts, fmt.Sprintf("response %q", t.Response))
	}
	return strings.Join(parts, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

func orDash(n *int) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

func orText(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
