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

	"ctjournal/adapters/postgres"
	"ctjournal/app"
)

// store is the opened PostgreSQL store and the application over it.
type store struct {
	db         *sql.DB
	log        *postgres.EventLog
	quarantine *postgres.Quarantine
	project    app.ProjectRecord // the projection's rules over the live read models
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
	policies := postgres.NewPolicies(db)
	queries := postgres.NewQueries(db)
	deliveries := postgres.NewDeliveries(db)
	eventLog := postgres.NewEventLog(db)
	quarantine := postgres.NewQuarantine(db)
	project := app.NewProjectRecord(postgres.NewReadModel(db), postgres.NewOutbox(db, cfg.GiveUpAfter))
	return &store{db: db, log: eventLog, quarantine: quarantine, project: project, app: app.Application{
		Commands: app.Commands{
			IngestEvents:      app.NewIngestEvents(eventLog),
			SetPolicy:         app.NewSetPolicy(policies, cfg.CalltouchAllowedHosts),
			DisablePolicy:     app.NewDisablePolicy(policies),
			RedeliverLead:     app.NewRedeliverLead(deliveries, time.Now, cfg.GiveUpAfter),
			RebuildReadModels: app.NewRebuildReadModels(postgres.NewRebuilder(db, postgres.RebuildConfig{}), time.Now),
			RetryQuarantined:  app.NewRetryQuarantined(quarantine, project),
		},
		Queries: app.AppQueries{
			GetPolicy:       app.NewGetPolicy(policies),
			ExplainOrder:    app.NewExplainOrder(queries, quarantine, policies),
			ListLeads:       app.NewListLeads(queries),
			ExplainWidget:   app.NewExplainWidget(postgres.NewWidgetSummaries(db)),
			SimulatePolicy:  app.NewSimulatePolicy(postgres.NewHistory(db)),
			ListQuarantined: app.NewListQuarantined(quarantine),
			GetStatus:       app.NewGetStatus(postgres.NewStatus(db)),

			ListPolicyVersions: app.NewListPolicyVersions(postgres.NewPolicyVersions(db)),
			CountLeadsPerDay:   app.NewCountLeadsPerDay(postgres.NewWidgetSummaries(db)),
		},
	}}, nil
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
