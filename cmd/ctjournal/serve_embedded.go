package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/sqlite"
	"ctjournal/ports/cli"
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

	parts, err := newEngineParts(ctx, cfg, log, s.ports, s.app, func(ctx context.Context) (projection.Health, error) {
		st, err := s.ports.Status.Status(ctx)
		return projection.Health{ProjectionStatus: st.Projection, Quarantined: st.QuarantinedRecords}, err
	})
	if err != nil {
		return err
	}
	router, err := s.store.NewProjectionRouter(s.app.Projection, sqlite.ProjectionConfig{Batch: 500, PollInterval: 20 * time.Millisecond},
		projectionLogger(log.With("part", "projection")))
	if err != nil {
		return err
	}
	e, err := parts.engine(cfg, log, storeParts{
		name: "embedded", app: s.app, countQuarantined: s.ports.Quarantine.Count, router: router,
		leadsQueued: s.store.LeadsQueued(),
	})
	if err != nil {
		return err
	}
	return e.run(ctx)
}
