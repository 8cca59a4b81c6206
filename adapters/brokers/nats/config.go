package nats

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"ctjournal/adapters/brokers"
)

// Config is how serve consumes NATS JetStream.
type Config struct {
	URL           string // one server or a comma-separated list: nats://host:4222
	Subject       string // consumed; may hold wildcards
	Stream        string // captures Subject and RejectSubject; created with them when missing
	Durable       string // the consumer every serve of the store shares, and its queue group
	RejectSubject string // where messages refused for their content go
	// AckWait is how long JetStream waits for a message's acknowledgement
	// before it hands the message out again: a message being handled is
	// kept in progress, so this bounds how long one a stopped serve held
	// waits.
	AckWait time.Duration
	// Consumers is how many messages one serve handles at once.
	Consumers int
	// MaxAckPending bounds the messages handed out and not yet
	// acknowledged, over every serve sharing the consumer; those waiting
	// in a serve's buffer count against AckWait.
	MaxAckPending int
}

// Defaults are the settings of a consumer created by serve, and those
// contract.md gives the variables.
var Defaults = Config{
	Subject:       "ctjournal.events",
	Stream:        "CTJOURNAL",
	Durable:       "ctjournal",
	RejectSubject: "ctjournal.rejected",
	AckWait:       30 * time.Second,
	Consumers:     4,
	MaxAckPending: 64,
}

// WithDefaults fills the settings left empty from Defaults.
func (c Config) WithDefaults() Config {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	c.Subject = or(c.Subject, Defaults.Subject)
	c.Stream = or(c.Stream, Defaults.Stream)
	c.Durable = or(c.Durable, Defaults.Durable)
	c.RejectSubject = or(c.RejectSubject, Defaults.RejectSubject)
	if c.AckWait == 0 {
		c.AckWait = Defaults.AckWait
	}
	if c.Consumers == 0 {
		c.Consumers = Defaults.Consumers
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = Defaults.MaxAckPending
	}
	return c
}

// Validate returns a *brokers.SettingError naming the first setting
// that is wrong.
func (c Config) Validate() error {
	bad := func(setting string, err error) error { return &brokers.SettingError{Setting: setting, Err: err} }
	if err := checkURLs(c.URL); err != nil {
		return bad("URL", err)
	}
	if err := checkSubject(c.Subject, true); err != nil {
		return bad("Subject", err)
	}
	if err := checkSubject(c.RejectSubject, false); err != nil {
		return bad("RejectSubject", err)
	}
	if covers(c.Subject, c.RejectSubject) {
		return bad("RejectSubject", fmt.Errorf("%q is among the subjects consumed (%q): serve would read its own rejects", c.RejectSubject, c.Subject))
	}
	if err := checkName(c.Stream); err != nil {
		return bad("Stream", err)
	}
	if err := checkName(c.Durable); err != nil {
		return bad("Durable", err)
	}
	switch {
	case c.AckWait < time.Second:
		return bad("AckWait", fmt.Errorf("%s: want at least 1s", c.AckWait))
	case c.Consumers < 1:
		return bad("Consumers", fmt.Errorf("%d: want at least 1", c.Consumers))
	case c.MaxAckPending < c.Consumers:
		return bad("MaxAckPending", fmt.Errorf("%d: want at least Consumers (%d)", c.MaxAckPending, c.Consumers))
	}
	return nil
}

var urlSchemes = []string{"nats", "tls", "ws", "wss"}

func checkURLs(urls string) error {
	if urls == "" {
		return errors.New("empty")
	}
	// The value is not quoted back: it may hold a password.
	for _, raw := range strings.Split(urls, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || !slices.Contains(urlSchemes, u.Scheme) || u.Host == "" {
			return errors.New("want nats://host:port (or tls://, ws://, wss://), several separated by commas")
		}
	}
	return nil
}
