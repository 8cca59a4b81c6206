// Package amqp consumes call events from RabbitMQ through watermill-amqp
// (contract.md, Events from brokers).
package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	amqp091 "github.com/rabbitmq/amqp091-go"

	"ctjournal/adapters/brokers"
)

// NewConsumer consumes cfg.Queue, competing with every other consumer of
// it, and publishes refused messages to cfg.RejectQueue.
func NewConsumer(cfg Config, deps brokers.Deps, log *slog.Logger) (*brokers.Consumer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return brokers.NewConsumer("amqp", func(context.Context) (brokers.Session, error) { return open(cfg, deps) }, log), nil
}

// prefetch is how many unacknowledged messages RabbitMQ hands each
// consumer: the one being handled and the next, so that the next is
// already in serve when the first is acknowledged, rather than asked for
// and carried over then. Beyond that, messages stay in the queue for
// whichever consumer, of any serve, is free first.
const prefetch = 2

func open(cfg Config, deps brokers.Deps) (brokers.Session, error) {
	// The connection reconnects by itself once made; the subscriber then
	// consumes again.
	conn, err := wmamqp.NewConnection(wmamqp.ConnectionConfig{AmqpURI: cfg.URL, Reconnect: wmamqp.DefaultReconnectConfig()}, deps.Logger)
	if err != nil {
		return brokers.Session{}, fmt.Errorf("connect to RabbitMQ: %w", err)
	}
	if err := declareQueues(conn.Connection(), cfg.Queue, cfg.RejectQueue); err != nil {
		return brokers.Session{}, errors.Join(err, conn.Close())
	}
	subCfg := wmamqp.NewDurableQueueConfig(cfg.URL)
	subCfg.Marshaler = bodyMarshaler{}
	subCfg.Consume.Qos.PrefetchCount = prefetch
	sub, err := wmamqp.NewSubscriberWithConnection(subCfg, deps.Logger, conn)
	if err != nil {
		return brokers.Session{}, errors.Join(fmt.Errorf("RabbitMQ subscriber: %w", err), conn.Close())
	}
	router, err := brokers.NewRouter(brokers.RouterConfig{
		Source:      "amqp",
		Topic:       cfg.Queue,
		Subscriber:  sub,
		Handlers:    cfg.Consumers, // a subscription handles one message at a time
		Rejects:     rejectPublisher{conn: conn},
		RejectTopic: cfg.RejectQueue,
	}, deps)
	if err != nil {
		return brokers.Session{}, errors.Join(err, sub.Close(), conn.Close())
	}
	return brokers.Session{
		Router:    router,
		Connected: conn.IsConnected,
		Close:     func() error { return errors.Join(sub.Close(), conn.Close()) },
	}, nil
}

// declareQueues declares the queues durable. A queue that exists with
// other properties is refused by RabbitMQ (406) and stays refused.
func declareQueues(conn *amqp091.Connection, queues ...string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a RabbitMQ channel: %w", err)
	}
	defer ch.Close()
	for _, q := range queues {
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		var amqpErr *amqp091.Error
		if errors.As(err, &amqpErr) && amqpErr.Code == amqp091.PreconditionFailed {
			return &brokers.MisconfiguredError{Reason: fmt.Sprintf("RabbitMQ queue %s exists with other properties than a durable classic queue: %s", q, amqpErr.Reason)}
		}
		if err != nil {
			return fmt.Errorf("declare RabbitMQ queue %s: %w", q, err)
		}
	}
	return nil
}
