package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/sqlite"
	"ctjournal/app/delivery"
	"ctjournal/ports/cli"
	"ctjournal/ports/httpapi"
)

// serveEmbedded is serve on the embedded store: one serve per data
// directory (a second one exits with code 2), the projection and the
// delivery worker woken in-process.
func serveEmbedded(ctx context.Context, cfg Config, log *slog.Logger) error {
	release, err := sqlite.LockServe(cfg.DataDir)
	if errors.Is(err, sqlite.ErrServeRunning) {
		return cli.ExitError{Code: 2, Err: err}
	}
	if err != nil {
		return err
	}
	defer release()
	s, err := openEmbedded(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	log.Info("store: embedded SQLite (DATABASE_URL is unset); one serve only, several need PostgreSQL", "path", s.store.Path)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := newEngineMetrics(reg)
	ingest := newIngestMetrics(reg)
	consumers, err := newBrokerConsumers(cfg.Brokers, s.app.Commands.IngestBody, ingest, reg, log)
	if err == nil {
		err = consumers.connect(ctx)
	}
	if err != nil {
		return err
	}
	watch := newProjectionWatch(func(ctx context.Context) (projection.Health, error) {
		st, err := s.ports.Status.Status(ctx)
		return projection.Health{ProjectionStatus: st.Projection, Quarantined: st.QuarantinedRecords}, err
	}, reg, log.With("part", "projection"))
	deliver, err := delivery.NewWorker(s.ports, deliveryConfig(cfg, log.With("part", "delivery"), metrics.observeTry))
	if err != nil {
		return err
	}
	router, err := s.store.NewProjectionRouter(s.app.Projection, sqlite.ProjectionConfig{Batch: 500, PollInterval: 20 * time.Millisecond},
		projectionLogger(log.With("part", "projection")))
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	httpServer := httpapi.NewServer(withConsole(httpapi.Handler(s.app, httpapi.Config{
		IngestToken: cfg.IngestToken, AdminToken: cfg.AdminToken, Registry: reg, Log: log,
		Ready:         consumers.ready(readiness(s.ports.Quarantine.Count, watch)),
		ObserveIngest: ingest.observer("http"),
		Brokers:       consumers.status,
	}), s.app, consoleConfig(cfg, log, consumers)), httpapi.DefaultLimits)

	return engine{
		log: log, store: "embedded", listener: listener, http: httpServer, router: router, consumers: consumers,
		loops: func(ctx context.Context, wg *sync.WaitGroup) {
			wg.Go(func() { watch.Run(ctx, time.Second) })
			wg.Go(func() { deliver.Run(ctx, s.store.LeadsQueued(), 250*time.Millisecond) })
		},
	}.run(ctx)
}
