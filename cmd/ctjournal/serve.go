package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
	"ctjournal/app/delivery"
	"ctjournal/domain"
)

// serve runs the engine until ctx ends: HTTP API, projection, delivery.
// Stopping finishes requests in flight, then tries in flight, then stops
// the projection between transactions.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	tuneGC(os.Getenv)
	if cfg.DatabaseURL == "" {
		return serveEmbedded(ctx, cfg, log)
	}
	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	log.Info("store: PostgreSQL (DATABASE_URL)")
	notes, err := postgres.Listen(cfg.DatabaseURL, log, postgres.ChannelLog, postgres.ChannelDeliveries)
	if err != nil {
		return err
	}
	defer notes.Close()
	notes.HearLocally(s.db)

	parts, err := newEngineParts(ctx, cfg, log, s.ports, s.app, func(ctx context.Context) (projection.Health, error) {
		return projection.Check(ctx, s.db)
	})
	if err != nil {
		return err
	}
	projectionDB, err := postgres.OpenProjectionPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer projectionDB.Close()
	router, err := projection.NewRouter(s.db, s.app.Projection, projection.Config{
		Batch: 500, PollInterval: time.Second, Wake: notes.Wake(postgres.ChannelLog),
		// Leads the projection decides go straight to this process's
		// delivery worker when it has a slot free.
		Handoff:      parts.deliver,
		Transactions: projectionDB,
	}, projectionLogger(log.With("part", "projection")))
	if err != nil {
		return err
	}

	e, err := parts.engine(cfg, log, storeParts{
		name: "postgres", app: s.app, countQuarantined: s.quarantine.Count, router: router,
		leadsQueued: notes.Wake(postgres.ChannelDeliveries),
		loops: func(ctx context.Context, wg *sync.WaitGroup) {
			wg.Go(func() { notes.Run(ctx) })
		},
	})
	if err != nil {
		return err
	}
	return e.run(ctx)
}

func deliveryConfig(cfg Config, log *slog.Logger, observe func(app.DeliveryTried)) delivery.Config {
	batch := 64
	if cfg.CalltouchRPS > 0 {
		// Claim no more than the limit lets out in a few seconds, so claims
		// don't wait long behind it and a stop stays quick.
		batch = max(1, min(batch, int(cfg.CalltouchRPS*4)))
	}
	return delivery.Config{
		Owner:        fmt.Sprintf("%s/%d/%s", hostname(), os.Getpid(), uuid.NewString()[:8]),
		Retry:        domain.RetryPolicy{Base: cfg.RetryBase, Max: cfg.RetryMax},
		TryTimeout:   cfg.CalltouchTimeout,
		Batch:        batch,
		AllowedHosts: cfg.CalltouchAllowedHosts,
		Now:          time.Now,
		Jitter:       rand.Float64,
		Log:          log,
		Observe:      observe,
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "ctjournal"
	}
	return h
}
