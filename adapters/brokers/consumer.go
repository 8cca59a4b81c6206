package brokers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Session is one connection to a broker and the router consuming it.
type Session struct {
	Router    *message.Router
	Connected func() bool
	Close     func() error // after the router stopped
}

// MisconfiguredError is a broker set up in a way serve cannot use, such
// as a NATS stream that does not capture a subject: trying again would
// not help.
type MisconfiguredError struct{ Reason string }

func (e *MisconfiguredError) Error() string { return e.Reason }

// Consumer keeps one broker consumed while serve runs: it connects, and
// connects again after a failure, with backoff. Once a router has
// subscribed the consumer is ready for good; the broker libraries
// reconnect by themselves after that.
type Consumer struct {
	source     string
	open       func(ctx context.Context) (Session, error)
	log        *slog.Logger
	first      *Session // made by Connect, for Run
	subscribed atomic.Bool
	connected  atomic.Pointer[func() bool]
}

// NewConsumer runs open's sessions one after another; source names the
// broker in logs and errors.
func NewConsumer(source string, open func(ctx context.Context) (Session, error), log *slog.Logger) *Consumer {
	return &Consumer{source: source, open: open, log: log.With("source", source)}
}

// Source names the broker: nats or amqp.
func (c *Consumer) Source() string { return c.source }

// Ready tells whether the consumer has subscribed.
func (c *Consumer) Ready() error {
	if !c.subscribed.Load() {
		return fmt.Errorf("not yet subscribed to %s", c.source)
	}
	return nil
}

// Connected tells whether the broker's connection is up now.
func (c *Consumer) Connected() bool {
	connected := c.connected.Load()
	return connected != nil && (*connected)()
}

const (
	firstReconnectDelay = time.Second
	maxReconnectDelay   = 30 * time.Second
)

// Connect makes the first connection, before serve starts the rest, so
// that a broker set up in a way serve cannot use ends it at once
// (*MisconfiguredError). A broker out of reach is only logged: Run tries
// it again.
func (c *Consumer) Connect(ctx context.Context) error {
	s, err := c.open(ctx)
	var misconfigured *MisconfiguredError
	switch {
	case errors.As(err, &misconfigured):
		return fmt.Errorf("%s: %w", c.source, err)
	case err != nil:
		c.log.Warn("broker out of reach; serving without it until it answers", "err", err)
	default:
		c.first = &s
	}
	return nil
}

// Run consumes until ctx ends. It returns early only with a
// *MisconfiguredError.
func (c *Consumer) Run(ctx context.Context) error {
	delay := firstReconnectDelay
	for {
		s, err := c.session(ctx)
		var misconfigured *MisconfiguredError
		if errors.As(err, &misconfigured) {
			return fmt.Errorf("%s: %w", c.source, err)
		}
		if err == nil {
			c.connected.Store(&s.Connected)
			var subscribed bool
			subscribed, err = c.consume(ctx, s)
			c.connected.Store(nil)
			err = errors.Join(err, s.Close())
			if subscribed {
				delay = firstReconnectDelay
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn("broker consumer stopped; connecting again", "in", delay.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxReconnectDelay)
	}
}

// session is the one Connect made, the first time, else a new one.
func (c *Consumer) session(ctx context.Context) (Session, error) {
	if s := c.first; s != nil {
		c.first = nil
		return *s, nil
	}
	return c.open(ctx)
}

// consume runs the session's router until ctx ends or the router stops,
// and tells whether it got as far as subscribing.
func (c *Consumer) consume(ctx context.Context, s Session) (bool, error) {
	done := make(chan error, 1)
	go func() { done <- s.Router.Run(ctx) }()
	select {
	case <-s.Router.Running():
		c.subscribed.Store(true)
		c.log.Info("consuming call events from a broker")
		return true, <-done
	case err := <-done:
		// Not Close: it would wait for the handlers that never started.
		// Those that did stop with Run's context.
		return false, err
	}
}
