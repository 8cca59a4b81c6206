package nats

import (
	"errors"
	"fmt"
	"strings"

	natsgo "github.com/nats-io/nats.go"

	"ctjournal/adapters/brokers"
)

// jsErrSubjectsOverlap: the server refused a new stream whose subjects
// another stream captures already.
const jsErrSubjectsOverlap natsgo.ErrorCode = 10065

// ensureStream creates the stream with the consumed and the reject
// subjects when it does not exist, and checks that an existing one
// captures both. An existing stream is never changed: several
// deployments may share it.
func ensureStream(js natsgo.JetStreamManager, cfg Config) error {
	info, err := js.StreamInfo(cfg.Stream)
	if errors.Is(err, natsgo.ErrStreamNotFound) {
		info, err = js.AddStream(&natsgo.StreamConfig{Name: cfg.Stream, Subjects: []string{cfg.Subject, cfg.RejectSubject}})
		var apiErr *natsgo.APIError
		switch {
		case errors.Is(err, natsgo.ErrStreamNameAlreadyInUse):
			// Another serve created it meanwhile: check it as any other.
			info, err = js.StreamInfo(cfg.Stream)
		case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrSubjectsOverlap:
			return &brokers.MisconfiguredError{Reason: fmt.Sprintf(
				"cannot create NATS stream %s with subjects %s and %s: another stream captures some of them (%v)",
				cfg.Stream, cfg.Subject, cfg.RejectSubject, err)}
		}
	}
	if err != nil {
		return fmt.Errorf("NATS stream %s: %w", cfg.Stream, err)
	}
	for _, subject := range []string{cfg.Subject, cfg.RejectSubject} {
		if _, ok := capturing(info.Config.Subjects, subject); !ok {
			return &brokers.MisconfiguredError{Reason: fmt.Sprintf(
				"NATS stream %s does not capture subject %s (its subjects: %s); serve never changes an existing stream: add the subject to it, or name another stream",
				cfg.Stream, subject, strings.Join(info.Config.Subjects, ", "))}
		}
	}
	return nil
}

// ensureConsumer creates the durable consumer when it does not exist: a
// push consumer whose deliver group is its own name, filtered to the
// consumed subject, starting from the first message still in the stream.
// Creating it here rather than on subscribe keeps it when a serve stops
// (nats.go deletes a consumer its subscription created). An existing one
// must have that filter and group.
func ensureConsumer(js natsgo.JetStreamManager, cfg Config, inbox string) error {
	info, err := js.ConsumerInfo(cfg.Stream, cfg.Durable)
	if errors.Is(err, natsgo.ErrConsumerNotFound) {
		info, err = js.AddConsumer(cfg.Stream, &natsgo.ConsumerConfig{
			Durable:        cfg.Durable,
			DeliverSubject: inbox,
			DeliverGroup:   cfg.Durable,
			FilterSubject:  cfg.Subject,
			DeliverPolicy:  natsgo.DeliverAllPolicy,
			AckPolicy:      natsgo.AckExplicitPolicy,
			AckWait:        cfg.AckWait,
			MaxAckPending:  cfg.MaxAckPending,
			MaxDeliver:     -1,
		})
		if err != nil {
			// Another serve may have created it meanwhile, with its own inbox.
			if again, infoErr := js.ConsumerInfo(cfg.Stream, cfg.Durable); infoErr == nil {
				info, err = again, nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("NATS consumer %s on stream %s: %w", cfg.Durable, cfg.Stream, err)
	}
	c := info.Config
	switch {
	case c.DeliverSubject == "" || c.DeliverGroup != cfg.Durable:
		return &brokers.MisconfiguredError{Reason: fmt.Sprintf(
			"NATS consumer %s on stream %s exists but is not a push consumer with deliver group %s; delete it, or name another durable",
			cfg.Durable, cfg.Stream, cfg.Durable)}
	case c.FilterSubject != cfg.Subject:
		return &brokers.MisconfiguredError{Reason: fmt.Sprintf(
			"NATS consumer %s on stream %s filters subject %q, not %q; delete it, or name another durable",
			cfg.Durable, cfg.Stream, c.FilterSubject, cfg.Subject)}
	}
	return nil
}
