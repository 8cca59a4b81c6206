package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"
)

// database is the fresh database of one run, dropped at the end.
type database struct {
	admin        *sql.DB
	name         string
	url          string
	db           *sql.DB
	noCheckpoint bool // CHECKPOINT was refused once
}

func createDatabase(ctx context.Context, adminURL string) (*database, error) {
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "ctj_bench_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		admin.Close()
		return nil, err
	}
	u.Path = "/" + name
	d := &database{admin: admin, name: name, url: u.String()}
	if d.db, err = sql.Open("postgres", d.url); err != nil {
		d.drop()
		return nil, err
	}
	d.db.SetMaxOpenConns(16)
	d.db.SetMaxIdleConns(16)
	return d, nil
}

// drop drops the database, retrying for half a minute while the server
// cannot be reached (it may be restarting).
func (d *database) drop() error {
	if d.db != nil {
		d.db.Close()
	}
	defer d.admin.Close()
	var err error
	for range 15 {
		_, err = d.admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(d.name) + " WITH (FORCE)")
		var pqErr *pq.Error
		if err == nil || errors.As(err, &pqErr) && !strings.HasPrefix(string(pqErr.Code), "57P") {
			return err
		}
		time.Sleep(2 * time.Second)
	}
	return err
}

// createBaselineTable makes bench_raw: ctj_log's shape (watermill-sql's
// PostgreSQL topic table with a JSONB payload) with its primary key and the
// unique index on uuid ctjournal adds, so a raw INSERT maintains the same
// indexes as an append to the log.
func (d *database) createBaselineTable(ctx context.Context) error {
	_, err := d.db.ExecContext(ctx, `
		CREATE TABLE bench_raw (
			"offset" BIGSERIAL,
			"uuid" VARCHAR(36) NOT NULL,
			"created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
			"payload" JSONB DEFAULT NULL,
			"metadata" JSON DEFAULT NULL,
			"transaction_id" xid8 NOT NULL DEFAULT pg_current_xact_id(),
			PRIMARY KEY ("transaction_id", "offset")
		);
		CREATE UNIQUE INDEX bench_raw_uuid ON bench_raw (uuid)`)
	if err != nil {
		return fmt.Errorf("create the baseline table: %w", err)
	}
	return nil
}

// fillBaselineTable copies the log's rows into bench_raw, so that a raw
// INSERT then maintains a uuid index as large as the log's, as an append
// does: random ids inserted into a small index touch fewer pages, find
// more of them cached and write fewer full-page images after a
// checkpoint, which flatters the baseline, not ctjournal.
func (d *database) fillBaselineTable(ctx context.Context) (int64, error) {
	res, err := d.db.ExecContext(ctx, `INSERT INTO bench_raw (uuid, created_at, payload, metadata, transaction_id)
		SELECT uuid, created_at, payload, metadata, transaction_id FROM ctj_log ORDER BY "offset"`)
	if err != nil {
		return 0, fmt.Errorf("fill the baseline table: %w", err)
	}
	return res.RowsAffected()
}

// storedEvents counts the log's records: call events and the engine's own
// records (policy changes, delivery tries).
func (d *database) storedEvents(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log`).Scan(&n)
	return n, err
}

// backlog is how far the projection is behind the log: lag estimates the
// records not yet folded (last offset minus the consumer's), caughtUp is
// exact: the log's last record in the engine's order, (transaction_id,
// offset), is at or before the offset watermill-sql keeps for the consumer
// group "projection". Both read one entry of the primary key's index, so
// polling this costs the database next to nothing.
func (d *database) backlog(ctx context.Context) (lag int64, caughtUp bool, err error) {
	err = d.db.QueryRowContext(ctx, `
		SELECT COALESCE(last.off, 0) - COALESCE(o.off, 0),
			last.t IS NULL OR (o.t IS NOT NULL AND (last.t, last.off) <= (o.t, o.off))
		FROM (SELECT 1) AS one
		LEFT JOIN (SELECT transaction_id AS t, "offset" AS off FROM ctj_log
			ORDER BY transaction_id DESC, "offset" DESC LIMIT 1) AS last ON true
		LEFT JOIN (SELECT last_processed_transaction_id AS t, offset_acked AS off
			FROM ctj_log_offsets WHERE consumer_group = 'projection') AS o ON true`).Scan(&lag, &caughtUp)
	return lag, caughtUp, err
}

// checkpoint runs CHECKPOINT before a measured phase, so that the WAL an
// earlier phase wrote (a million events loaded, a rebuild) does not start
// a checkpoint in the middle of this one: the flushing and the full-page
// images after it would land on whichever side of a comparison ran then.
// It needs a superuser or pg_checkpoint; without, the run goes on.
func (d *database) checkpoint(ctx context.Context) {
	if _, err := d.db.ExecContext(ctx, `CHECKPOINT`); err != nil && !d.noCheckpoint {
		d.noCheckpoint = true
		say("CHECKPOINT before each phase refused (%v): phases may share checkpoints", err)
	}
}

// pendingLeads counts leads queued and not yet delivered or failed.
func (d *database) pendingLeads(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM ctj_deliveries WHERE status = 'pending'`).Scan(&n)
	return n, err
}

func (d *database) serverVersion(ctx context.Context) (version, settings string) {
	_ = d.db.QueryRowContext(ctx, `SHOW server_version`).Scan(&version)
	_ = d.db.QueryRowContext(ctx, `SELECT string_agg(name || '=' || setting || COALESCE(unit, ''), ', ' ORDER BY name)
		FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_buffers', 'max_wal_size', 'commit_delay')`).Scan(&settings)
	return version, settings
}

// holdingBack describes the oldest transaction with an id on the whole
// server: what holds the projection back when it is older than the log's
// newest records.
func (d *database) holdingBack(ctx context.Context) string {
	var desc string
	err := d.db.QueryRowContext(ctx, `SELECT format('pid %s in database %s, %s, started %s s ago: %s',
			pid, datname, state, round(extract(epoch FROM now() - xact_start)), left(regexp_replace(query, '\s+', ' ', 'g'), 100))
		FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY age(backend_xid) DESC LIMIT 1`).Scan(&desc)
	if err != nil {
		return "no transaction (" + err.Error() + ")"
	}
	return "the oldest transaction on the server: " + desc
}

// serverStarted is when the PostgreSQL server last started: a change during
// the run means someone restarted it.
func (d *database) serverStarted(ctx context.Context) string {
	var at string
	for range 15 {
		if err := d.admin.QueryRowContext(ctx, `SELECT pg_postmaster_start_time()::text`).Scan(&at); err == nil {
			return at
		}
		time.Sleep(2 * time.Second)
	}
	return "unknown"
}

// walPosition is the server's current WAL position, in bytes.
func (d *database) walPosition() int64 {
	var n int64
	_ = d.admin.QueryRow(`SELECT pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&n)
	return n
}

// sessions is how many sessions were ever opened to the run's database.
func (d *database) sessions() int64 {
	var n int64
	_ = d.admin.QueryRow(`SELECT sessions FROM pg_stat_database WHERE datname = $1`, d.name).Scan(&n)
	return n
}

// scanLog reads the whole log in the projection's order, payloads
// included: the floor under a rebuild, which must at least read it all.
func (d *database) scanLog(ctx context.Context) (perS, seconds float64, err error) {
	return timedScan(ctx, d.db, `SELECT "offset", payload FROM ctj_log ORDER BY transaction_id, "offset"`)
}

// timedScan reads every row of query, an offset and a payload, and
// returns the rows a second and the seconds it took.
func timedScan(ctx context.Context, db *sql.DB, query string) (perS, seconds float64, err error) {
	start := time.Now()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	n := 0
	var off int64
	var payload []byte
	for rows.Next() {
		if err := rows.Scan(&off, &payload); err != nil {
			return 0, 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	seconds = time.Since(start).Seconds()
	return float64(n) / seconds, seconds, nil
}
