package app

import (
	"bytes"
	"context"
	"fmt"

	"ctjournal/domain"
	"ctjournal/wire"
)

// canonicalSizeGuess is about the size of a typical event's canonical form,
// so that a batch's buffer seldom grows.
const canonicalSizeGuess = 256

// IngestEvents stores a batch of call events in the log, whole or not at all.
type IngestEvents struct{ log EventLog }

func NewIngestEvents(log EventLog) IngestEvents { return IngestEvents{log: log} }

// Handle checks the batch against itself (an event_id repeated with other
// content, an order naming two widgets: *ConflictError at the later index),
// drops exact repeats within it, and appends the rest.
func (h IngestEvents) Handle(ctx context.Context, events []domain.CallEvent) (AppendResult, error) {
	batch := make([]NewEvent, 0, len(events))
	seen := make(map[string][]byte, len(events))
	widgetOf := make(map[string]string, len(events))
	repeats := 0
	// One buffer holds every canonical form; each event's is a slice of it,
	// capped so that nothing appended later can reach into it.
	buf := make([]byte, 0, len(events)*canonicalSizeGuess)
	for i, e := range events {
		start := len(buf)
		var err error
		if buf, err = wire.AppendEvent(buf, e); err != nil {
			return AppendResult{}, fmt.Errorf("event %d: %w", i, err)
		}
		canonical := buf[start:len(buf):len(buf)]
		if prev, ok := seen[e.EventID]; ok {
			if !bytes.Equal(prev, canonical) {
				return AppendResult{}, &ConflictError{Index: i, Message: fmt.Sprintf("event_id %s appears earlier in the batch with other content", e.EventID)}
			}
			repeats++
			continue
		}
		if w, ok := widgetOf[e.OrderID]; ok && w != e.WidgetID {
			return AppendResult{}, &ConflictError{Index: i, Message: fmt.Sprintf("order %s names widget %s, but an earlier event in the batch names widget %s", e.OrderID, e.WidgetID, w)}
		}
		seen[e.EventID] = canonical
		widgetOf[e.OrderID] = e.WidgetID
		batch = append(batch, NewEvent{Event: e, Canonical: canonical, Index: i})
	}
	res, err := h.log.Append(ctx, batch)
	if err != nil {
		return AppendResult{}, err
	}
	res.Duplicates += repeats
	return res, nil
}
