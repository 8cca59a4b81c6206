package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"ctjournal/adapters/sqlite"
	"ctjournal/adapters/sqlite/sqlitelog"
)

// embeddedFile is the embedded store's SQLite file of the run, under a
// data directory of its own, as serve runs on it when DATABASE_URL is
// unset. The tool opens it beside serve, as serve does: one writing
// connection (the baselines' INSERTs queue for SQLite's one writer like
// serve's appends) and a reading pool.
type embeddedFile struct {
	dir  string
	db   *sql.DB
	read *sql.DB
}

// open opens the file that serve created in dir.
func (f *embeddedFile) open() error {
	path := filepath.Join(f.dir, sqlite.FileName)
	db, err := sqlitelog.Open(path)
	if err != nil {
		return err
	}
	read, err := sqlitelog.OpenReader(path)
	if err != nil {
		db.Close()
		return err
	}
	f.db, f.read = db, read
	return nil
}

func (f *embeddedFile) close() error {
	if f.db == nil {
		return nil
	}
	return errors.Join(f.read.Close(), f.db.Close())
}

// createBaselineTable makes bench_raw from ctj_log's own CREATE statements
// (its table and its unique index on uuid), so a raw INSERT maintains what
// an append to the log maintains.
func (f *embeddedFile) createBaselineTable(ctx context.Context) error {
	rows, err := f.db.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = 'ctj_log' AND sql IS NOT NULL
		ORDER BY type = 'index', name`)
	if err != nil {
		return fmt.Errorf("read the log's schema: %w", err)
	}
	var ddl []string
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			rows.Close()
			return err
		}
		ddl = append(ddl, strings.ReplaceAll(stmt, "ctj_log", "bench_raw"))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ddl) == 0 {
		return errors.New("create the baseline table: the embedded store has no ctj_log")
	}
	for _, stmt := range ddl {
		if _, err := f.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create the baseline table: %w", err)
		}
	}
	return nil
}

// fillBaselineTable copies the log's rows into bench_raw, so that a raw
// INSERT then maintains a uuid index as large as the log's, as an append
// does: random ids inserted into a small index dirty fewer pages and find
// more of them cached, which flatters the baseline, not ctjournal.
func (f *embeddedFile) fillBaselineTable(ctx context.Context) (int64, error) {
	res, err := f.db.ExecContext(ctx, `INSERT INTO bench_raw (uuid, created_at, payload, metadata)
		SELECT uuid, created_at, payload, metadata FROM ctj_log ORDER BY "offset"`)
	if err != nil {
		return 0, fmt.Errorf("fill the baseline table: %w", err)
	}
	return res.RowsAffected()
}

func (f *embeddedFile) storedEvents(ctx context.Context) (int, error) {
	var n int
	err := f.read.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log`).Scan(&n)
	return n, err
}

// backlog compares the log's last offset with the projection's: on SQLite
// commit order is offset order, so the offset alone says it is caught up.
func (f *embeddedFile) backlog(ctx context.Context) (lag int64, caughtUp bool, err error) {
	err = f.read.QueryRowContext(ctx, `SELECT COALESCE((SELECT max("offset") FROM ctj_log), 0)
		- COALESCE((SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = 'projection'), 0)`).Scan(&lag)
	return lag, lag <= 0, err
}

func (f *embeddedFile) pendingLeads(ctx context.Context) (int, error) {
	var n int
	err := f.read.QueryRowContext(ctx, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending'`).Scan(&n)
	return n, err
}

// checkpoint copies the WAL into the database file, so that an earlier
// phase's writes are not checkpointed during the next. PASSIVE: it waits
// for no reader and blocks no writer (TRUNCATE would hold serve's writes
// back while its projection reads), so what a reader still uses stays.
func (f *embeddedFile) checkpoint(ctx context.Context) {
	_, _ = f.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
}

func (f *embeddedFile) holdingBack(context.Context) string {
	return "the embedded store has no other databases' transactions; serve's goroutines say what it waits for (-profile keeps them)"
}

// scanLog reads the log in offset order, which is the projection's.
func (f *embeddedFile) scanLog(ctx context.Context) (perS, seconds float64, err error) {
	return timedScan(ctx, f.read, `SELECT "offset", payload FROM ctj_log ORDER BY "offset"`)
}

// insertMany is one INSERT of rows rows into bench_raw, as the log's
// SchemaAdapter writes them: uuid, payload (JSON text), metadata.
func (f *embeddedFile) insertMany(rows int) string {
	return `INSERT INTO bench_raw (uuid, payload, metadata) VALUES ` +
		strings.TrimSuffix(strings.Repeat(`(?, ?, ?), `, rows), ", ")
}

// insertRows inserts events into bench_raw in one autocommitted INSERT.
func (f *embeddedFile) insertRows(ctx context.Context, events []event) error {
	args := make([]any, 0, 3*len(events))
	for _, e := range events {
		args = append(args, e.id, string(e.canonical), string(emptyMetadata))
	}
	_, err := f.db.ExecContext(ctx, f.insertMany(len(events)), args...)
	return err
}
