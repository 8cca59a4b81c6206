package amqp

import (
	"errors"
	"fmt"
	"strings"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"ctjournal/adapters/brokers"
)

// Config is how serve consumes RabbitMQ.
type Config struct {
	URL         string // amqp://user:password@host:5672/vhost
	Queue       string // durable queue consumed
	RejectQueue string // durable queue for messages refused for their content
	Consumers   int    // how many messages one serve handles at once
}

// Defaults are contract.md's.
var Defaults = Config{Queue: "ctjournal.events", RejectQueue: "ctjournal.rejected", Consumers: 4}

// WithDefaults fills the settings left empty from Defaults.
func (c Config) WithDefaults() Config {
	if c.Queue == "" {
		c.Queue = Defaults.Queue
	}
	if c.RejectQueue == "" {
		c.RejectQueue = Defaults.RejectQueue
	}
	if c.Consumers == 0 {
		c.Consumers = Defaults.Consumers
	}
	return c
}

// Validate returns a *brokers.SettingError naming the first setting
// that is wrong.
func (c Config) Validate() error {
	bad := func(setting string, err error) error { return &brokers.SettingError{Setting: setting, Err: err} }
	// The URL is not quoted back: it may hold a password.
	if _, err := amqp091.ParseURI(c.URL); err != nil {
		return bad("URL", errors.New("want amqp://user:password@host:port/vhost (or amqps://)"))
	}
	if err := checkQueue(c.Queue); err != nil {
		return bad("Queue", err)
	}
	if err := checkQueue(c.RejectQueue); err != nil {
		return bad("RejectQueue", err)
	}
	if c.RejectQueue == c.Queue {
		return bad("RejectQueue", fmt.Errorf("%q is the queue consumed: serve would read its own rejects", c.RejectQueue))
	}
	if c.Consumers < 1 {
		return bad("Consumers", fmt.Errorf("%d: want at least 1", c.Consumers))
	}
	return nil
}

// checkQueue accepts what RabbitMQ lets a client declare: 1–255 bytes,
// not in the reserved amq. namespace.
func checkQueue(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > 255:
		return fmt.Errorf("%d bytes long: at most 255", len(name))
	case strings.HasPrefix(name, "amq."):
		return fmt.Errorf("%q: names starting with amq. are reserved by RabbitMQ", name)
	}
	return nil
}
