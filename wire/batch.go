package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"ctjournal/domain"
)

// BatchError is why an ingest body was refused: the first invalid event by
// its index in the batch (0 for a single envelope), or Index -1 when the body
// as a whole is wrong. Field is the path inside the event, as in domain.FieldError.
type BatchError struct {
	Index   int
	Field   string
	Message string
}

func (e *BatchError) Error() string {
	switch {
	case e.Index < 0:
		return e.Message
	case e.Field == "":
		return fmt.Sprintf("event %d: %s", e.Index, e.Message)
	}
	return fmt.Sprintf("event %d: %s: %s", e.Index, e.Field, e.Message)
}

// ParseBatch reads the body of POST /v1/events: one envelope, or an array of
// 1–MaxBatch of them. It checks each event on its own; rules across events
// (an order's widget, ids already stored) are the caller's.
func ParseBatch(body []byte) ([]domain.CallEvent, error) {
	raws, valid, isBatch := batchElements(body)
	switch {
	case !valid:
		return nil, &BatchError{Index: -1, Message: "body is not valid JSON"}
	case !isBatch:
		return nil, &BatchError{Index: -1, Message: "body must be an event object or an array of them"}
	case len(raws) == 0:
		return nil, &BatchError{Index: -1, Message: fmt.Sprintf("body is an empty array; send 1 to %d events", MaxBatch)}
	case len(raws) > MaxBatch:
		return nil, &BatchError{Index: -1, Message: fmt.Sprintf("body has %d events; at most %d are allowed", len(raws), MaxBatch)}
	}
	events := make([]domain.CallEvent, len(raws))
	scratch := make([]jsonMember, 0, 32)
	for i, raw := range raws {
		scratch = scratch[:0] // the previous event's objects are done with
		e, err := parseValidEvent(&scratch, raw)
		if err != nil {
			var fe *domain.FieldError
			if errors.As(err, &fe) {
				return nil, &BatchError{Index: i, Field: fe.Field, Message: fe.Message}
			}
			return nil, &BatchError{Index: i, Message: err.Error()}
		}
		events[i] = e
	}
	return events, nil
}

// batchElements is a body's envelopes: the object itself, or the array's
// elements, split by the pass that checks the body is valid JSON; isBatch
// is false when the body is neither.
func batchElements(body []byte) (raws []json.RawMessage, valid, isBatch bool) {
	switch b := bytes.TrimSpace(body); {
	case bytes.HasPrefix(b, []byte("[")):
		raws, valid = validArray(body)
		return raws, valid, true
	case bytes.HasPrefix(b, []byte("{")):
		return []json.RawMessage{b}, validJSON(body), true
	}
	return nil, validJSON(body), false
}
