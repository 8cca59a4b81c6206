package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/ports/httpapi"
)

// engineParts are what serve sets up alike on either store, around the
// store's own projection router and wake-ups: the metrics, the broker
// consumers (connected), the projection watch and the delivery worker.
type engineParts struct {
	reg       *prometheus.Registry
	ingest    ingestMetrics
	consumers brokerConsumers
	watch     *projectionWatch
	deliver   *delivery.Worker
}

// newEngineParts sets up the parts over the store's ports and application;
// health reads the projection's health for the watch.
func newEngineParts(ctx context.Context, cfg Config, log *slog.Logger, ports app.Ports, a app.Application,
	health func(context.Context) (projection.Health, error)) (engineParts, error) {
	p := engineParts{reg: prometheus.NewRegistry()}
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := newEngineMetrics(p.reg)
	p.ingest = newIngestMetrics(p.reg)
	consumers, err := newBrokerConsumers(cfg.Brokers, a.Commands.IngestBody, p.ingest, p.reg, log)
	if err == nil {
		err = consumers.connect(ctx)
	}
	if err != nil {
		return p, err
	}
	p.consumers = consumers
	p.watch = newProjectionWatch(health, p.reg, log.With("part", "projection"))
	if p.deliver, err = delivery.NewWorker(ports, deliveryConfig(cfg, log.With("part", "delivery"), metrics.observeTry)); err != nil {
		return p, err
	}
	return p, nil
}

// storeParts are what each store brings to its engine.
type storeParts struct {
	name             string // named in the log
	app              app.Application
	countQuarantined func(context.Context) (int64, error) // for readiness
	router           *message.Router
	leadsQueued      <-chan struct{} // wakes the delivery worker
	// loops starts the store's own background loops, if any, on wg.
	loops func(ctx context.Context, wg *sync.WaitGroup)
}

// engine listens on the HTTP address and puts the parts together with the
// store's.
func (p engineParts) engine(cfg Config, log *slog.Logger, s storeParts) (engine, error) {
	listener, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return engine{}, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	httpServer := httpapi.NewServer(withConsole(httpapi.Handler(s.app, httpapi.Config{
		IngestToken: cfg.IngestToken, AdminToken: cfg.AdminToken, Registry: p.reg, Log: log,
		Ready:         p.consumers.ready(readiness(s.countQuarantined, p.watch)),
		ObserveIngest: p.ingest.observer("http"),
		Brokers:       p.consumers.status,
	}), s.app, consoleConfig(cfg, log, p.consumers)), httpapi.DefaultLimits)
	return engine{
		log: log, store: s.name, listener: listener, http: httpServer, router: s.router, consumers: p.consumers,
		loops: func(ctx context.Context, wg *sync.WaitGroup) {
			if s.loops != nil {
				s.loops(ctx, wg)
			}
			wg.Go(func() { p.watch.Run(ctx, time.Second) })
			wg.Go(func() { p.deliver.Run(ctx, s.leadsQueued, 250*time.Millisecond) })
		},
	}, nil
}
