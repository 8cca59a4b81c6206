package amqp

import (
	"errors"
	"fmt"

	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// rejectPublisher publishes refused messages to a queue through the
// default exchange, with publisher confirms and mandatory: Publish
// returns once RabbitMQ has taken each message into the queue, and fails
// when it nacked it or returned it unroutable, so a reject is never
// dropped silently. watermill-amqp's publisher sets mandatory but does
// not watch for returns. Rejects are rare: each gets its own channel.
type rejectPublisher struct{ conn *wmamqp.ConnectionWrapper }

func (p rejectPublisher) Publish(queue string, msgs ...*message.Message) (err error) {
	if !p.conn.IsConnected() {
		return errors.New("not connected to RabbitMQ")
	}
	ch, err := p.conn.Connection().Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	defer func() { err = errors.Join(err, ignoreClosed(ch.Close())) }()
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	returned := ch.NotifyReturn(make(chan amqp091.Return, len(msgs)))
	for _, msg := range msgs {
		publishing, err := bodyMarshaler{}.Marshal(msg)
		if err != nil {
			return err
		}
		confirm, err := ch.PublishWithDeferredConfirmWithContext(msg.Context(), "", queue, true, false, publishing)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", queue, err)
		}
		acked, err := confirm.WaitContext(msg.Context())
		switch {
		case err != nil:
			return fmt.Errorf("confirm of %s: %w", queue, err)
		case !acked:
			return fmt.Errorf("RabbitMQ did not take the message into %s", queue)
		}
		// A return comes before the confirm of the same message.
		select {
		case r := <-returned:
			return fmt.Errorf("RabbitMQ could not route the message to %s: %d %s", queue, r.ReplyCode, r.ReplyText)
		default:
		}
	}
	return nil
}

func (p rejectPublisher) Close() error { return nil }

func ignoreClosed(err error) error {
	if errors.Is(err, amqp091.ErrClosed) {
		return nil
	}
	return err
}
