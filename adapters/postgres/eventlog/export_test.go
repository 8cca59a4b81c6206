package eventlog

import (
	"context"

	"ctjournal/app"
)

// AppendAsOneGroup appends each batch as one call of a single group
// commit, as concurrent requests are, and returns each call's outcome.
func AppendAsOneGroup(ctx context.Context, l *EventLog, batches ...[]app.NewEvent) ([]app.AppendResult, []error) {
	group := make([]*appendCall, len(batches))
	for i, b := range batches {
		group[i] = &appendCall{ctx: ctx, events: b, done: make(chan struct{})}
	}
	l.commit(group)
	results, errs := make([]app.AppendResult, len(group)), make([]error, len(group))
	for i, c := range group {
		results[i], errs[i] = c.result, c.err
	}
	return results, errs
}
