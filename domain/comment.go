package domain

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

const (
	commentHead = "CallKeeper"
	// maxComment is Calltouch's limit on a comment, in Unicode code points.
	maxComment = 4000
)

// comment is the lead's comment: "CallKeeper", then with details one
// "label: value" line per item that has something to say (docs/rules.md, "What
// a lead carries"). outcome is nil for a lead sent at order time.
func comment(details bool, o *OrderData, outcome *CallEvent) string {
	if !details {
		return commentHead
	}
	var b strings.Builder
	b.Grow(commentSize(o))
	b.WriteString(commentHead)
	add := func(label, value string) {
		if value != "" {
			b.WriteByte('\n')
			b.WriteString(oneLine(label))
			b.WriteString(": ")
			b.WriteString(oneLine(value))
		}
	}
	add("Тип", kindLabel(o.Kind))
	if o.Deferred() {
		add("Отложен на", o.ScheduledAt.In(moscow).Format(scheduledLayout))
	}
	if outcome != nil {
		add("Попытка", strconv.Itoa(outcome.Attempt))
		add("Результат", result(*outcome))
		if outcome.TalkSeconds != nil {
			add("Разговор", strconv.Itoa(*outcome.TalkSeconds)+" с")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Details)) {
		add(k, o.Details[k])
	}
	return ellipsize(b.String(), maxComment)
}

// commentSize is room enough for most comments, so that the builder grows
// once: the fixed items' labels and values, and each detail's line.
func commentSize(o *OrderData) int {
	n := 256
	for k, v := range o.Details {
		n += len(k) + len(v) + len("\n: ")
	}
	return min(n, 4*maxComment)
}

func kindLabel(k OrderKind) string {
	if k == KindTap2Call {
		return "tap-to-call"
	}
	return "обратный звонок"
}

// result is the attempt's outcome in the journal readers' words.
func result(outcome CallEvent) string {
	switch {
	case outcome.Type == CallAnswered:
		return "состоялся"
	case outcome.FailReason != "":
		return "не состоялся (" + outcome.FailReason + ")"
	}
	return "не состоялся"
}

// lineBreaks are folded to spaces so a free-form value cannot break the
// one-line-per-item shape of the details block.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return lineBreaks.Replace(s)
}
