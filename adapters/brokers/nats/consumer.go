// Package nats consumes call events from NATS JetStream through
// watermill-nats (contract.md, Events from brokers).
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	natsgo "github.com/nats-io/nats.go"

	"ctjournal/adapters/brokers"
)

// handlingLimit is how long the subscriber waits for a handler before it
// lets its message go to be redelivered; a handler ends well before.
const handlingLimit = 5 * time.Minute

// subscriptionsPerSlot: each subscription handles its messages one after
// another, and JetStream hands the consumer's messages to the queue
// group's subscriptions at random, so one of them may hold several while
// another has none. With more subscriptions than messages handled at
// once (brokers.RouterConfig.AtOnce), a free slot finds a message waiting
// in another subscription instead of staying idle.
const subscriptionsPerSlot = 2

// NewConsumer consumes cfg.Subject with the shared durable consumer and
// publishes refused messages to cfg.RejectSubject.
func NewConsumer(cfg Config, deps brokers.Deps, log *slog.Logger) (*brokers.Consumer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return brokers.NewConsumer("nats", func(context.Context) (brokers.Session, error) {
		return open(cfg, deps, log.With("source", "nats"))
	}, log), nil
}

func open(cfg Config, deps brokers.Deps, log *slog.Logger) (brokers.Session, error) {
	nc, err := natsgo.Connect(cfg.URL,
		natsgo.Name("ctjournal"),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(time.Second),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				log.Warn("NATS connection lost; reconnecting", "err", err)
			}
		}),
		natsgo.ReconnectHandler(func(*natsgo.Conn) { log.Info("NATS connection back") }),
	)
	if err != nil {
		return brokers.Session{}, fmt.Errorf("connect to NATS: %w", err)
	}
	router, closeAll, err := consume(nc, cfg, deps)
	if err != nil {
		nc.Close()
		return brokers.Session{}, err
	}
	return brokers.Session{Router: router, Connected: nc.IsConnected, Close: closeAll}, nil
}

// consume makes sure of the stream and the durable consumer, then builds
// the router that consumes it.
func consume(nc *natsgo.Conn, cfg Config, deps brokers.Deps) (*message.Router, func() error, error) {
	js, err := nc.JetStream()
	if err != nil {
		return nil, nil, fmt.Errorf("NATS JetStream: %w", err)
	}
	if err := ensureStream(js, cfg); err != nil {
		return nil, nil, err
	}
	if err := ensureConsumer(js, cfg, nc.NewInbox()); err != nil {
		return nil, nil, err
	}
	flight := &inFlight{}
	sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:      flight,
		SubscribersCount: subscriptionsPerSlot * cfg.Consumers,
		AckWaitTimeout:   handlingLimit,
		CloseTimeout:     15 * time.Second,
		NakDelay:         redeliveryDelay{},
		QueueGroupPrefix: cfg.Durable,
		JetStream: wmnats.JetStreamConfig{
			// Bound to the consumer ensureConsumer made; acknowledged by
			// the router once the message is stored, and only then.
			SubscribeOptions: []natsgo.SubOpt{natsgo.Bind(cfg.Stream, cfg.Durable), natsgo.ManualAck()},
			DurablePrefix:    cfg.Durable,
		},
	}, deps.Logger)
	if err != nil {
		return nil, nil, fmt.Errorf("NATS subscriber: %w", err)
	}
	// Rejects go through JetStream: Publish returns once the stream has
	// stored them.
	pub, err := wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
	}, deps.Logger)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("NATS publisher: %w", err), sub.Close())
	}
	router, err := brokers.NewRouter(brokers.RouterConfig{
		Source:      "nats",
		Topic:       cfg.Subject,
		Subscriber:  sub,
		Handlers:    1, // the subscriber runs the subscriptions
		AtOnce:      cfg.Consumers,
		Rejects:     pub,
		RejectTopic: cfg.RejectSubject,
		Outer:       []message.HandlerMiddleware{flight.keepInProgress(cfg.AckWait / 3)},
	}, deps)
	if err != nil {
		return nil, nil, errors.Join(err, sub.Close())
	}
	// The subscriber drains the connection and closes it.
	return router, func() error { return errors.Join(sub.Close(), pub.Close()) }, nil
}
