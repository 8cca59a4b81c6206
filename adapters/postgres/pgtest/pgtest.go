// Package pgtest gives each test a database of its own on a real
// PostgreSQL server, migrated and dropped again when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"ctjournal/adapters/postgres"
)

// DefaultAdminURL is the maintenance database the test databases are
// created through. CTJ_TEST_POSTGRES_URL overrides it.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var admin struct {
	once sync.Once
	url  *url.URL
	db   *sql.DB
	err  error
}

// adminDB is one connection pool to the maintenance database, shared by
// every test of the process.
func adminDB(t testing.TB) (*sql.DB, *url.URL) {
	t.Helper()
	admin.once.Do(func() {
		raw := os.Getenv("CTJ_TEST_POSTGRES_URL")
		if raw == "" {
			raw = DefaultAdminURL
		}
		if admin.url, admin.err = url.Parse(raw); admin.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.db, admin.err = postgres.Open(ctx, raw)
		if admin.err == nil {
			admin.db.SetMaxOpenConns(4)
		}
	})
	if admin.err != nil {
		t.Fatalf("pgtest: PostgreSQL for tests is not reachable (set CTJ_TEST_POSTGRES_URL to another server): %v", admin.err)
	}
	return admin.db, admin.url
}

// NewEmptyDatabase creates a fresh database ctj_test_<random> with no
// schema in it and returns its URL; the database is dropped, connections
// and all, when the test ends.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	adm, base := adminDB(t)
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("pgtest: random database name: %v", err)
	}
	name := "ctj_test_" + hex.EncodeToString(suffix[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := adm.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(name)+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *base
	u.Path = "/" + name
	return u.String()
}

// NewDatabase creates a fresh database ctj_test_<random>, migrates it with
// postgres.Migrate and returns a connection pool to it (opened as the
// service opens its own) and its URL. When the test ends the pool is closed
// and the database dropped WITH (FORCE).
func NewDatabase(t testing.TB) (db *sql.DB, databaseURL string) {
	t.Helper()
	databaseURL = NewEmptyDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("pgtest: open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatalf("pgtest: migrate test database: %v", err)
	}
	return db, databaseURL
}
