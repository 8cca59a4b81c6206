// Package projectionrouter is what the projection's Watermill router does
// alike on every store: how a record the projection cannot apply is tried
// again and then set aside (docs/quarantine.md). Each store supplies where
// a record is set aside and which errors are its own trouble.
package projectionrouter

import (
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Tries of a failing record before it is set aside: the first and Retries
// more, Backoff apart, doubling.
const (
	Retries = 2
	Backoff = 50 * time.Millisecond
)

// PoisonTopic is the topic the poison queue publishes a record to; the
// store's publisher sets it aside instead.
const PoisonTopic = "poison"

// QuarantineMiddlewares are the projection router's middlewares, outermost
// first: a record whose handler fails is tried again (Retry), then handed
// to the poison queue (PoisonQueue), whose publisher calls setAside: the
// store sets the record aside within the subscriber's transaction (the
// message's context carries it) so that the log goes on past it. An error storeTrouble owns (the store unreachable,
// the subscriber giving the record up) is never the record's fault: it is
// returned to the router, and the subscriber offers the record again.
// A panic in the handler counts as a failure (Recoverer).
func QuarantineMiddlewares(setAside func(*message.Message) error, storeTrouble func(error) bool) ([]message.HandlerMiddleware, error) {
	poison, err := middleware.PoisonQueueWithFilter(setAsidePublisher(setAside), PoisonTopic, func(err error) bool { return !storeTrouble(err) })
	if err != nil {
		return nil, fmt.Errorf("poison queue: %w", err)
	}
	return []message.HandlerMiddleware{
		poison,
		// Unlogged: a record that keeps failing is logged once, when it is
		// set aside, or by the router when the store is to blame.
		// MaxInterval above the last pause: without one, every pause after
		// the first falls back to the first.
		middleware.Retry{MaxRetries: Retries, InitialInterval: Backoff, Multiplier: 2, MaxInterval: Backoff << Retries}.Middleware,
		middleware.Recoverer,
	}, nil
}

// setAsidePublisher is the poison queue's publisher: it sets each record
// aside instead of publishing it anywhere.
type setAsidePublisher func(*message.Message) error

func (setAside setAsidePublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		if err := setAside(msg); err != nil {
			return err
		}
	}
	return nil
}

func (setAsidePublisher) Close() error { return nil }
