package main

import (
	"context"
	"time"

	"ctjournal/adapters/calltouch"
	"ctjournal/adapters/sqlite"
	"ctjournal/app"
)

// embeddedStore is the opened embedded store and the application over it.
type embeddedStore struct {
	store *sqlite.Store
	ports app.Ports
	app   app.Application
}

func (s *embeddedStore) close() { s.store.Close() }

// openEmbedded opens the SQLite store under CTJ_DATA_DIR, creating it on
// first use.
func openEmbedded(ctx context.Context, cfg Config) (*embeddedStore, error) {
	st, err := sqlite.Open(ctx, cfg.DataDir, cfg.GiveUpAfter)
	if err != nil {
		return nil, err
	}
	ports := st.Ports()
	ports.Calltouch = calltouch.New(cfg.CalltouchTimeout, version)
	ports.SiteLimiter = sqlite.NewSiteLimiter(cfg.CalltouchRPS)
	application, err := app.NewApplication(ports, app.Config{
		GiveUpAfter: cfg.GiveUpAfter, AllowedHosts: cfg.CalltouchAllowedHosts, Now: time.Now,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &embeddedStore{store: st, ports: ports, app: application}, nil
}
