package app

import (
	"context"
	"encoding/json"
	"errors"

	"ctjournal/wire"
)

// MaxIngestBody is the largest body of call events any port takes (1 MiB).
const MaxIngestBody = 1 << 20

// IngestBody takes one body of call events as every port receives it (a
// POST /v1/events body, a broker message): checked, then stored whole or
// not at all. The ports differ only in how they answer the outcome.
type IngestBody struct{ events IngestEvents }

func NewIngestBody(events IngestEvents) IngestBody { return IngestBody{events: events} }

// IngestOutcome is what became of a body: stored (Refused nil), or
// refused for its content. A store that cannot be reached is an error
// instead, since the body may be sent again.
type IngestOutcome struct {
	Stored  AppendResult
	Refused *IngestRefusal
}

// IngestResult names an outcome for the ports' counts.
type IngestResult string

const (
	IngestAccepted  IngestResult = "accepted"  // at least one new event stored
	IngestDuplicate IngestResult = "duplicate" // every event already known
	IngestRejected  IngestResult = "rejected"  // refused for its content
)

func (o IngestOutcome) Result() IngestResult {
	switch {
	case o.Refused != nil:
		return IngestRejected
	case o.Stored.Accepted == 0:
		return IngestDuplicate
	}
	return IngestAccepted
}

// RefusalKind is why a body was refused; HTTP answers 400, 409 and 413.
type RefusalKind int

const (
	RefusedInvalid  RefusalKind = iota // an event or the body breaks a rule
	RefusedConflict                    // an event_id or an order's widget disagrees with what is known
	RefusedTooLarge                    // over MaxIngestBody
)

// IngestRefusal is a body refused for its content. Its JSON is the error
// object HTTP answers, which a broker's reject carries too.
type IngestRefusal struct {
	Kind    RefusalKind
	Message string
	Index   *int    // the event at fault; nil for the body as a whole
	Field   *string // the field at fault; nil when no one field is
	// Cause is the store's refusal of a value the checks let through,
	// worth a warning; nil otherwise.
	Cause error
}

// RefusedValueMessage answers input with a value the store refused.
const RefusedValueMessage = "a value of the request cannot be stored (a time, number or text beyond what the store holds); nothing was stored"

// TooLargeRefusal refuses a body over MaxIngestBody.
func TooLargeRefusal() *IngestRefusal {
	return &IngestRefusal{Kind: RefusedTooLarge, Message: "body is larger than 1 MiB"}
}

// MarshalJSON gives each kind the shape of its HTTP answer: 400
// {"error","index","field"} with nulls where they do not apply, 409
// {"error","index"}, 413 {"error"}.
func (r IngestRefusal) MarshalJSON() ([]byte, error) {
	switch r.Kind {
	case RefusedConflict:
		return json.Marshal(struct {
			Error string `json:"error"`
			Index *int   `json:"index"`
		}{r.Message, r.Index})
	case RefusedTooLarge:
		return json.Marshal(struct {
			Error string `json:"error"`
		}{r.Message})
	}
	return json.Marshal(struct {
		Error string  `json:"error"`
		Index *int    `json:"index"`
		Field *string `json:"field"`
	}{r.Message, r.Index, r.Field})
}

// Handle parses and stores body. Its error is the store's (ErrUnavailable:
// nothing stored, send again) or a bug; a refusal is an outcome.
func (h IngestBody) Handle(ctx context.Context, body []byte) (IngestOutcome, error) {
	if len(body) > MaxIngestBody {
		return IngestOutcome{Refused: TooLargeRefusal()}, nil
	}
	events, err := wire.ParseBatch(body)
	var bad *wire.BatchError
	if errors.As(err, &bad) {
		r := &IngestRefusal{Kind: RefusedInvalid, Message: bad.Error()}
		if bad.Index >= 0 {
			r.Index = &bad.Index
		}
		if bad.Field != "" {
			r.Field = &bad.Field
		}
		return IngestOutcome{Refused: r}, nil
	}
	if err != nil {
		return IngestOutcome{}, err
	}
	stored, err := h.events.Handle(ctx, events)
	var conflict *ConflictError
	switch {
	case errors.As(err, &conflict):
		return IngestOutcome{Refused: &IngestRefusal{Kind: RefusedConflict, Message: conflict.Message, Index: &conflict.Index}}, nil
	case errors.Is(err, ErrInvalidData):
		return IngestOutcome{Refused: &IngestRefusal{Kind: RefusedInvalid, Message: RefusedValueMessage, Cause: err}}, nil
	case err != nil:
		return IngestOutcome{}, err
	}
	return IngestOutcome{Stored: stored}, nil
}
