// Package pgdb is what every part of the PostgreSQL store shares about
// the database itself: transactions (a store call runs in the one its
// context carries), errors sorted into unavailable and refused values,
// notifications sent after commit, prepared statements, and the log
// table's watermill-sql schema and consumer groups.
package pgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"ctjournal/app"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/lib/pq"
)

func Ptr[T any](v T) *T { return &v }

// querier is what both *sql.DB and *sql.Tx offer.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryTexts runs a query of one text column and returns its values.
func QueryTexts(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
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

// wrappedTx is a watermill-sql transaction its user wrapped (the
// projection's guard), which Unwrap gives back.
type wrappedTx interface{ Unwrap() wsql.Tx }

// WithTx makes store calls under ctx run inside tx.
func WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// txFrom returns the transaction ctx carries: ours, or the one the
// watermill-sql subscriber hands its handler.
func TxFrom(ctx context.Context) *sql.Tx {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	if wtx, ok := wsql.TxFromContext(ctx); ok {
		if w, ok := wtx.(wrappedTx); ok {
			wtx = w.Unwrap()
		}
		if std, ok := wtx.(*wsql.StdSQLTx); ok {
			return std.Tx
		}
	}
	return nil
}

func On(ctx context.Context, db *sql.DB) Querier {
	if tx := TxFrom(ctx); tx != nil {
		return tx
	}
	return db
}

// inTx runs fn in a transaction of its own, or in the one ctx carries.
// Notifications asked for inside a transaction of its own are sent after
// the commit (see notify).
func InTx(ctx context.Context, db *sql.DB, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if tx := TxFrom(ctx); tx != nil {
		return fn(ctx, tx)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Unavailable(fmt.Errorf("begin: %w", err))
	}
	later := &afterCommit{tx: tx, channels: map[string]bool{}}
	if err := fn(context.WithValue(WithTx(ctx, tx), afterCommitKey{}, later), tx); err != nil {
		tx.Rollback()
		return RefusedValue(Unavailable(err))
	}
	if err := tx.Commit(); err != nil {
		return Unavailable(fmt.Errorf("commit: %w", err))
	}
	for channel := range later.channels {
		NotifierOf(db).Poke(channel)
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
func Unavailable(err error) error {
	if err == nil || errors.Is(err, app.ErrUnavailable) {
		return err
	}
	if IsConnectionError(err) {
		return fmt.Errorf("%w: %w", app.ErrUnavailable, err)
	}
	return err
}

// refusedValue marks errors of a value the store cannot hold as
// app.ErrInvalidData, so that callers answer 4xx for the request that
// brought it, not 500: PostgreSQL's data exceptions (class 22: U+0000 or
// invalid UTF-8 in text, a time or number out of range) and program limits
// (54000: a value too large to index).
func RefusedValue(err error) error {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || errors.Is(err, app.ErrInvalidData) {
		return err
	}
	if pqErr.Code.Class() == "22" || pqErr.Code == "54000" {
		return fmt.Errorf("%w: %w", app.ErrInvalidData, err)
	}
	return err
}

func IsConnectionError(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		code := string(pqErr.Code)
		// 08: connection exception; 57P: operator intervention (shutdown, crash
		// recovery, cannot connect now); 53300: too many connections. And what
		// refuses a new connection: 3D000, the database is gone; 28, the
		// login is refused; 55000 for a database that does not accept
		// connections now (ALTER DATABASE … ALLOW_CONNECTIONS false).
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300" ||
			code == "3D000" || strings.HasPrefix(code, "28") ||
			code == "55000" && strings.Contains(pqErr.Message, "not currently accepting connections")
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
func HasCode(err error, codes ...pq.ErrorCode) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && slices.Contains(codes, pqErr.Code)
}

func IsDeadlock(err error) bool { return HasCode(err, "40P01") }

// notify wakes listeners once tx commits. A transaction that inTx owns
// sends it after its commit: a NOTIFY inside a transaction takes a
// database-wide lock through the commit's WAL flush, which would serialise
// every concurrent ingest. Other transactions (the projection's) notify
// inside, and PostgreSQL delivers at commit.
func Notify(ctx context.Context, tx *sql.Tx, channel string) error {
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
