package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/postgres"
	"ctjournal/app"
)

// store is the opened PostgreSQL store and the application over it.
type store struct {
	db         *sql.DB
	log        *postgres.EventLog
	quarantine *postgres.Quarantine
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
	eventLog := postgres.NewEventLog(db)
	quarantine := postgres.NewQuarantine(db)
	ports := app.Ports{
		EventLog:        eventLog,
		Policies:        postgres.NewPolicies(db),
		ReadModel:       postgres.NewReadModel(db),
		Outbox:          postgres.NewOutbox(db, cfg.GiveUpAfter),
		DeliveryQueue:   postgres.NewDeliveries(db),
		Queries:         postgres.NewQueries(db),
		Quarantine:      quarantine,
		Status:          postgres.NewStatus(db),
		WidgetSummaries: postgres.NewWidgetSummaries(db),
		History:         postgres.NewHistory(db),
		Rebuild:         postgres.NewRebuilder(db, postgres.RebuildConfig{}),
		Calltouch:       calltouch.New(cfg.CalltouchTimeout, version),
		SiteLimiter:     postgres.NewSiteRate(db, cfg.CalltouchRPS),
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
