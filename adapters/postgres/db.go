// Package postgres is ctjournal's PostgreSQL store: the event log (a
// watermill-sql topic table), the write-side tables around it, the read
// models and the delivery queue.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/lib/pq"

	"ctjournal/app"
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
// took a flush, and the wait for the ingest's flushes under way, off every
// batch: a quarter of the projection's time at 200 events/s. A batch holds
// only what it derived from records the log already holds durably, with
// the offset that says so, all in one transaction; a crash can lose the
// last batches, never part of one, and the projection then folds their
// records again to the same rows (README, Guarantees). Any later commit
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
	// when nothing ANALYZEs it. Measured both ways: the log poll went from
	// milliseconds to hundreds of them on a seq scan at a million events,
	// and so did a delivery-history batch joined to ctj_decisions by hash,
	// which made each decision take 200 ms. Planning costs up to a quarter
	// of the server's statement time at 200 events/s; the one statement
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

func ptr[T any](v T) *T { return &v }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryTexts runs a query of one text column and returns its values.
func queryTexts(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

type txKey struct{}

// WithTx makes store calls under ctx run inside tx.
func WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// txFrom returns the transaction ctx carries: ours, or the one the
// watermill-sql subscriber hands its handler.
func txFrom(ctx context.Context) *sql.Tx {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	if wtx, ok := wsql.TxFromContext(ctx); ok {
		if g, ok := wtx.(*guardedTx); ok {
			wtx = g.Tx
		}
		if std, ok := wtx.(*wsql.StdSQLTx); ok {
			return std.Tx
		}
	}
	return nil
}

func on(ctx context.Context, db *sql.DB) querier {
	if tx := txFrom(ctx); tx != nil {
		return tx
	}
	return db
}

// inTx runs fn in a transaction of its own, or in the one ctx carries.
// Notifications asked for inside a transaction of its own are sent after
// the commit (see notify).
func inTx(ctx context.Context, db *sql.DB, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if tx := txFrom(ctx); tx != nil {
		return fn(ctx, tx)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(fmt.Errorf("begin: %w", err))
	}
	later := &afterCommit{tx: tx, channels: map[string]bool{}}
	if err := fn(context.WithValue(WithTx(ctx, tx), afterCommitKey{}, later), tx); err != nil {
		tx.Rollback()
		return refusedValue(unavailable(err))
	}
	if err := tx.Commit(); err != nil {
		return unavailable(fmt.Errorf("commit: %w", err))
	}
	for channel := range later.channels {
		notifierOf(db).poke(channel)
	}
	return nil
}

// afterCommit collects the notifications of a transaction inTx owns.
type afterCommit struct {
	tx       *sql.Tx
	channels map[string]bool
}

type afterCommitKey struct{}

// unavailable marks errors that mean "the database cannot be reached" so
// that callers answer 503 (retry later) rather than 500.
func unavailable(err error) error {
	if err == nil || errors.Is(err, app.ErrUnavailable) {
		return err
	}
	if isConnectionError(err) {
		return fmt.Errorf("%w: %w", app.ErrUnavailable, err)
	}
	return err
}

// refusedValue marks errors of a value the store cannot hold as
// app.ErrInvalidData, so that callers answer 4xx for the request that
// brought it, not 500: PostgreSQL's data exceptions (class 22: U+0000 or
// invalid UTF-8 in text, a time or number out of range) and program limits
// (54000: a value too large to index).
func refusedValue(err error) error {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || errors.Is(err, app.ErrInvalidData) {
		return err
	}
	if pqErr.Code.Class() == "22" || pqErr.Code == "54000" {
		return fmt.Errorf("%w: %w", app.ErrInvalidData, err)
	}
	return err
}

func isConnectionError(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		code := string(pqErr.Code)
		// 08: connection exception; 57P: operator intervention (shutdown, crash
		// recovery, cannot connect now); 53300: too many connections.
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	msg := err.Error()
	return errors.Is(err, sql.ErrConnDone) || strings.Contains(msg, "bad connection") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "EOF") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset")
}

// hasCode tells whether err is a PostgreSQL error with one of codes
// (SQLSTATE).
func hasCode(err error, codes ...pq.ErrorCode) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && slices.Contains(codes, pqErr.Code)
}

func isDeadlock(err error) bool { return hasCode(err, "40P01") }

// notify wakes listeners once tx commits. A transaction that inTx owns
// sends it after its commit: a NOTIFY inside a transaction takes a
// database-wide lock through the commit's WAL flush, which would serialise
// every concurrent ingest. Other transactions (the projection's) notify
// inside, and PostgreSQL delivers at commit.
func notify(ctx context.Context, tx *sql.Tx, channel string) error {
	if later, ok := ctx.Value(afterCommitKey{}).(*afterCommit); ok && later.tx == tx {
		later.channels[channel] = true
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Channels the store notifies on commit.
const (
	ChannelLog        = "ctj_log"
	ChannelDeliveries = "ctj_deliveries"
)
