package main

import (
	"errors"
	"fmt"

	"ctjournal/adapters/brokers"
	"ctjournal/adapters/brokers/amqp"
	"ctjournal/adapters/brokers/nats"
)

// Brokers is where serve takes call events from besides HTTP: each on
// when its URL is set.
type Brokers struct {
	NATS nats.Config
	AMQP amqp.Config
}

// natsVariables and amqpVariables name the variable of each setting.
var (
	natsVariables = map[string]string{
		"URL": "CTJ_NATS_URL", "Subject": "CTJ_NATS_SUBJECT", "Stream": "CTJ_NATS_STREAM",
		"Durable": "CTJ_NATS_DURABLE", "RejectSubject": "CTJ_NATS_REJECT_SUBJECT",
	}
	amqpVariables = map[string]string{"URL": "CTJ_AMQP_URL", "Queue": "CTJ_AMQP_QUEUE", "RejectQueue": "CTJ_AMQP_REJECT_QUEUE"}
)

func loadBrokers(getenv func(string) string) (Brokers, error) {
	var b Brokers
	if url := getenv("CTJ_NATS_URL"); url != "" {
		b.NATS = nats.Config{
			URL: url, Subject: getenv("CTJ_NATS_SUBJECT"), Stream: getenv("CTJ_NATS_STREAM"),
			Durable: getenv("CTJ_NATS_DURABLE"), RejectSubject: getenv("CTJ_NATS_REJECT_SUBJECT"),
		}.WithDefaults()
		if err := b.NATS.Validate(); err != nil {
			return b, named(err, natsVariables)
		}
	}
	if url := getenv("CTJ_AMQP_URL"); url != "" {
		b.AMQP = amqp.Config{URL: url, Queue: getenv("CTJ_AMQP_QUEUE"), RejectQueue: getenv("CTJ_AMQP_REJECT_QUEUE")}.WithDefaults()
		if err := b.AMQP.Validate(); err != nil {
			return b, named(err, amqpVariables)
		}
	}
	return b, nil
}

// named says which variable a broker setting's error is about.
func named(err error, variables map[string]string) error {
	var bad *brokers.SettingError
	if errors.As(err, &bad) {
		if name, ok := variables[bad.Setting]; ok {
			return fmt.Errorf("%s: %w", name, bad.Err)
		}
	}
	return err
}
