package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/adapters/brokers"
	"ctjournal/adapters/brokers/amqp"
	"ctjournal/adapters/brokers/nats"
	"ctjournal/app"
	"ctjournal/ports/cli"
)

// brokerConsumers are the brokers serve takes call events from, beside
// HTTP.
type brokerConsumers []*brokers.Consumer

func newBrokerConsumers(cfg Brokers, ingest brokers.Ingest, metrics ingestMetrics, reg *prometheus.Registry, log *slog.Logger) (brokerConsumers, error) {
	log = log.With("part", "brokers")
	deps := func(source string) brokers.Deps {
		return brokers.Deps{Ingest: ingest, Observe: metrics.observer(source), Logger: projectionLogger(log)}
	}
	var cs brokerConsumers
	if cfg.NATS.URL != "" {
		c, err := nats.NewConsumer(cfg.NATS, deps("nats"), log)
		if err != nil {
			return nil, named(err, natsVariables)
		}
		cs = append(cs, c)
	}
	if cfg.AMQP.URL != "" {
		c, err := amqp.NewConsumer(cfg.AMQP, deps("amqp"), log)
		if err != nil {
			return nil, named(err, amqpVariables)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "ctj_broker_connected",
			Help:        "1 while the connection to the broker is up.",
			ConstLabels: prometheus.Labels{"source": c.Source()},
		}, func() float64 {
			if c.Connected() {
				return 1
			}
			return 0
		}))
	}
	return cs, nil
}

// connect connects to every broker before serve starts the rest: one set
// up in a way serve cannot use ends it at once, with exit code 2.
func (cs brokerConsumers) connect(ctx context.Context) error {
	for _, c := range cs {
		if err := c.Connect(ctx); err != nil {
			return misconfigured(err)
		}
	}
	return nil
}

// run consumes every broker until ctx ends, in wg, and reports on failed
// a broker set up in a way serve cannot use.
func (cs brokerConsumers) run(ctx context.Context, wg *sync.WaitGroup, failed chan<- error) {
	for _, c := range cs {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				failed <- misconfigured(err)
			}
		})
	}
}

// status is each consumer's state, for GET /v1/status.
func (cs brokerConsumers) status() map[string]app.BrokerStatus {
	out := make(map[string]app.BrokerStatus, len(cs))
	for _, c := range cs {
		out[c.Source()] = app.BrokerStatus{Subscribed: c.Ready() == nil, Connected: c.Connected()}
	}
	return out
}

// ready adds to ready that every broker consumer has subscribed.
func (cs brokerConsumers) ready(ready func(context.Context) (int64, error)) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		quarantined, err := ready(ctx)
		if err != nil {
			return quarantined, err
		}
		for _, c := range cs {
			if err := c.Ready(); err != nil {
				return quarantined, err
			}
		}
		return quarantined, nil
	}
}

// misconfigured ends serve with exit code 2.
func misconfigured(err error) error {
	return cli.ExitError{Code: 2, Err: fmt.Errorf("configuration: %w", err)}
}
