package brokers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"ctjournal/app"
)

// Ingest is the use case every message goes through: app.IngestBody.
type Ingest interface {
	Handle(ctx context.Context, body []byte) (app.IngestOutcome, error)
}

// RefusedError is a message refused for its content. Its text is the JSON
// error HTTP would answer, which Watermill's PoisonQueue middleware puts
// in the reject's reason_poisoned.
type RefusedError struct{ reason string }

func (e *RefusedError) Error() string { return e.reason }

func refused(r *app.IngestRefusal) error {
	reason, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode the refusal %q: %w", r.Message, err)
	}
	return &RefusedError{reason: string(reason)}
}

func isRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// handle ingests one message's body, headers ignored. A store error is
// returned as it is, to be retried; a refusal as a *RefusedError. The
// outcome rides in the message's context to be counted once the message
// is answered (countOutcome).
func handle(ingest Ingest) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		outcome, err := ingest.Handle(msg.Context(), msg.Payload)
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		msg.SetContext(context.WithValue(msg.Context(), outcomeKey{}, outcome))
		if outcome.Refused != nil {
			return refused(outcome.Refused)
		}
		return nil
	}
}

type outcomeKey struct{}

// countOutcome observes a message's outcome once the middlewares inside
// it are done with it and it is about to be acknowledged: stored, or
// refused and its reject taken by the broker. A message nacked (the store
// or the reject destination down) is counted when it is finally handled.
func countOutcome(observe func(app.IngestOutcome)) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			produced, err := h(msg)
			if outcome, ok := msg.Context().Value(outcomeKey{}).(app.IngestOutcome); ok && err == nil {
				observe(outcome)
			}
			return produced, err
		}
	}
}
