// Package postgres is ctjournal's PostgreSQL store: the event log (a
// watermill-sql topic table), the write-side tables around it, the read
// models and the delivery queue. This package opens the database, migrates
// it and listens for its notifications; each subsystem is a package of
// its own, which cmd/ctjournal wires directly:
//
//	eventlog    appends call events (group commit) and policy changes
//	projection  folds the log into the read models, queues leads (outbox)
//	quarantine  the records the projection set aside
//	queue       the delivery queue: claims, tries, site rate, vacuum
//	query       explain, leads, widget summaries, policy versions, leads per day, simulation history
//	rebuild     rebuilds the read models from the log and swaps them in
//
// Imports run one way only (a DAG): rebuild → projection → quarantine;
// projection, queue, query and rebuild → internal/pgrows (row shapes the
// projection, the rebuild and the queries share) → internal/pgdb
// (transactions, errors, notifications, prepared statements, the log's
// schema), which every package imports. This package imports only
// internal/pgdb; internal/testkit serves the tests.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Open connects to PostgreSQL. Sessions run in UTC so that the log's
// created_at (a timestamp without time zone) reads back as UTC.
func Open(ctx context.Context, databaseURL string) (*sql.DB, error) {
	return open(ctx, databaseURL, nil)
}

// open is Open with session adding settings of its own to the URL's query.
func open(ctx context.Context, databaseURL string, session func(url.Values)) (*sql.DB, error) {
	dsn, err := withUTC(databaseURL, session)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Enough for ingest's group commits, the projection, delivery and the
	// API at once, while several processes still fit PostgreSQL's default
	// of 100 connections. Idle connections are kept as many as open ones:
	// fewer would close and reopen (fork a backend) on every burst.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// ProjectionApplicationName names the projection's sessions on the server.
const ProjectionApplicationName = "ctjournal-projection"

// OpenProjectionPool connects the few connections the projection's
// transactions run on (ProjectionConfig.Transactions). Their commits do
// not wait for the WAL to reach the disk (synchronous_commit off), which
// takes a flush, and the wait for the ingest's flushes under way, off every
// batch (docs/performance.md). A batch holds
// only what it derived from records the log already holds durably, with
// the offset that says so, all in one transaction; a crash can lose the
// last batches, never part of one, and the projection then folds their
// records again to the same rows (docs/guarantees.md). Any later commit
// that waits, an append or a try, flushes them first; the leads a batch
// hands over wait for that before they are sent (queuedLeads.committed).
func OpenProjectionPool(ctx context.Context, databaseURL string) (*sql.DB, error) {
	db, err := open(ctx, databaseURL, func(q url.Values) {
		q.Set("synchronous_commit", "off")
		if q.Get("application_name") == "" {
			// Named in pg_stat_activity, apart from the engine's other sessions.
			q.Set("application_name", ProjectionApplicationName)
		}
	})
	if err != nil {
		return nil, err
	}
	// One transaction at a time, and the prepared statements' own.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	return db, nil
}

// withUTC is databaseURL with the engine's session settings, and those
// session adds when not nil.
func withUTC(databaseURL string, session func(url.Values)) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("DATABASE_URL must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("timezone", "UTC")
	// One round trip per statement instead of two (no separate prepare).
	// []byte parameters then travel in binary format, so JSON goes as
	// strings (JSONB's binary input is not plain JSON text).
	q.Set("binary_parameters", "yes")
	// The engine's queries are short index lookups and writes. Without
	// table statistics (autovacuum off, or a table that grew fast since
	// its last ANALYZE) their estimated cost can pass jit_above_cost, and
	// compiling one then takes hundreds of milliseconds.
	if q.Get("jit") == "" {
		q.Set("jit", "off")
	}
	// Statements are prepared once (statements.go), but planned at every
	// run with its values and the tables' current sizes: a generic plan,
	// made once while a table was small, is kept however much it grows
	// when nothing ANALYZEs it: the log poll then turned into a seq scan
	// at a million events, and a delivery-history batch into a hash join
	// over ctj_decisions (docs/performance.md). Planning costs a share of
	// the server's statement time that way; the one statement
	// whose plan is safe to keep and costly to make, the ingest's append,
	// keeps its own (migration 003).
	if q.Get("plan_cache_mode") == "" {
		q.Set("plan_cache_mode", "force_custom_plan")
	}
	if q.Get("sslmode") == "" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "") {
		q.Set("sslmode", "disable")
	}
	if session != nil {
		session(q)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
