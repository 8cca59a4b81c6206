package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/adapters/postgres/storecopy"
	"ctjournal/app"
)

// openCopy opens the configured store as a copy's source and the
// PostgreSQL database at to as its target, migrated.
func openCopy(ctx context.Context, cfg Config, log *slog.Logger, to string) (app.CopyStore, func(), error) {
	target, err := postgres.Open(ctx, to)
	if err != nil {
		return app.CopyStore{}, nil, fmt.Errorf("target: %w", err)
	}
	if err := postgres.Migrate(ctx, target); err != nil {
		target.Close()
		return app.CopyStore{}, nil, fmt.Errorf("target: migrate schema: %w", err)
	}
	source, closeSource, err := openCopySource(ctx, cfg, log)
	if err != nil {
		target.Close()
		return app.CopyStore{}, nil, fmt.Errorf("source: %w", err)
	}
	copier := app.NewCopyStore(source, storecopy.NewTarget(target),
		app.NewRebuildReadModels(rebuild.New(target, rebuild.Config{}), time.Now),
		app.CopyConfig{GiveUpAfter: cfg.GiveUpAfter, Now: time.Now})
	return copier, func() { closeSource(); target.Close() }, nil
}

func openCopySource(ctx context.Context, cfg Config, log *slog.Logger) (app.StoreSource, func(), error) {
	if cfg.DatabaseURL == "" {
		s, err := openEmbedded(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return s.store, s.close, nil
	}
	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return storecopy.NewSource(s.db), s.close, nil
}
