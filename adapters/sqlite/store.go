// Package sqlite is the embedded store: every port of the application in
// one SQLite file (modernc.org/sqlite, no CGO), used when DATABASE_URL is
// unset. Its tables have the PostgreSQL store's names and columns; its log
// is a watermill-sql topic table (package sqlitelog). One serve at a time
// writes to it (LockServe); docs/embedded-store.md says what that means.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ctjournal/adapters/sqlite/sqlitelog"
	"ctjournal/app"
)

// FileName is the store's file under the data directory.
const FileName = "ctjournal.db"

// Store is the opened SQLite file: db writes (one connection, writers
// take turns), read serves the queries that should not wait behind a
// write.
type Store struct {
	Path        string
	db          *sql.DB
	read        *sql.DB
	giveUpAfter time.Duration
	// leadsQueued is poked when a commit queued leads, to wake this
	// process's delivery worker.
	leadsQueued chan struct{}
	// stmts are the statements of the write transaction under way.
	stmts txStatements
	// groups are the appends waiting for the writer (group commit).
	groups appendGroups
	// logGrew is poked when a commit appended to the log, to wake this
	// process's projection.
	logGrew chan struct{}
	// turns lets appends take the writer before the projection.
	turns writerTurns
	// folded are the orders the projection's transaction under way folded.
	folded foldedOrders
	// seen filters the ids an append must look up in the file.
	seen seenIDs
}

// Open opens (creating on first use) the store in dir and brings its
// schema up to date. giveUpAfter is how long a queued lead is tried.
func Open(ctx context.Context, dir string, giveUpAfter time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := sqlitelog.Open(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	read, err := sqlitelog.OpenReader(path)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{Path: path, db: db, read: read, giveUpAfter: giveUpAfter, leadsQueued: make(chan struct{}, 1), logGrew: make(chan struct{}, 1)}, nil
}

// Close ends the seen ids' fill, if one is under way, and closes both pools.
func (s *Store) Close() error {
	s.seen.close()
	return errors.Join(s.read.Close(), s.db.Close())
}

// LeadsQueued wakes the delivery worker when this process queued leads.
func (s *Store) LeadsQueued() <-chan struct{} { return s.leadsQueued }

func (s *Store) pokeDeliveries() { poke(s.leadsQueued) }

func (s *Store) pokeProjection() { poke(s.logGrew) }

// poke wakes whoever waits on w, or leaves a wake-up there for them.
func poke(w chan<- struct{}) {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Ports are the application's ports on this store, but Calltouch and the
// site limiter, which are not the store's.
func (s *Store) Ports() app.Ports {
	return app.Ports{
		EventLog:        &EventLog{s: s},
		Policies:        &Policies{s: s},
		ReadModel:       newReadModel(s, liveTables),
		Outbox:          &Outbox{s: s},
		DeliveryQueue:   &Deliveries{s: s},
		Queries:         &Queries{s: s},
		Quarantine:      &Quarantine{s: s},
		Status:          &Status{s: s},
		WidgetSummaries: &WidgetSummaries{s: s},
		History:         &History{s: s},
		PolicyVersions:  &PolicyVersions{s: s},
		LeadsPerDay:     &WidgetSummaries{s: s},
		Rebuild:         &Rebuilder{s: s},
	}
}
