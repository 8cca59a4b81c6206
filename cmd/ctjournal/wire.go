package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"

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
	if cfg.DatabaseDefault {
		log.Warn("DATABASE_URL is unset: using the local PostgreSQL database ctjournal until the embedded store exists")
		if err := createDatabase(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}
	}
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

func openApp(ctx context.Context, cfg Config, log *slog.Logger) (app.Application, func(), error) {
	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return app.Application{}, nil, err
	}
	return s.app, s.close, nil
}

// createDatabase creates the default local database on first use.
func createDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to the local PostgreSQL: %w", err)
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P04" { // already exists
		return nil
	}
	return err
}
