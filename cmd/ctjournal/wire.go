package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/quarantine"
	"ctjournal/adapters/postgres/query"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/app"
)

// store is the opened PostgreSQL store and the application over it.
type store struct {
	db         *sql.DB
	log        *eventlog.EventLog
	quarantine *quarantine.Quarantine
	ports      app.Ports
	app        app.Application
}

func (s *store) close() {
	s.log.Close()
	s.db.Close()
}

func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*store, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	eventLog := eventlog.NewEventLog(db)
	quarantine := quarantine.NewQuarantine(db)
	ports := app.Ports{
		EventLog:        eventLog,
		Policies:        eventlog.NewPolicies(db),
		ReadModel:       projection.NewReadModel(db),
		Outbox:          projection.NewOutbox(db, cfg.GiveUpAfter),
		DeliveryQueue:   queue.NewDeliveries(db),
		Queries:         query.NewQueries(db),
		Quarantine:      quarantine,
		Status:          projection.NewStatus(db),
		WidgetSummaries: query.NewWidgetSummaries(db),
		History:         query.NewHistory(db),
		PolicyVersions:  query.NewPolicyVersions(db),
		LeadsPerDay:     query.NewWidgetSummaries(db),
		Rebuild:         rebuild.New(db, rebuild.Config{}),
		Calltouch:       calltouch.New(cfg.CalltouchTimeout, version),
		SiteLimiter:     queue.NewSiteRate(db, cfg.CalltouchRPS),
	}
	application, err := app.NewApplication(ports, app.Config{
		GiveUpAfter: cfg.GiveUpAfter, AllowedHosts: cfg.CalltouchAllowedHosts, Now: time.Now,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &store{db: db, log: eventLog, quarantine: quarantine, ports: ports, app: application}, nil
}

// openApp opens the store the configuration names, for a command other
// than serve: PostgreSQL at DATABASE_URL, or the embedded store.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (app.Application, func(), error) {
	if cfg.DatabaseURL == "" {
		s, err := openEmbedded(ctx, cfg)
		if err != nil {
			return app.Application{}, nil, err
		}
		return s.app, s.close, nil
	}
	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return app.Application{}, nil, err
	}
	return s.app, s.close, nil
}
