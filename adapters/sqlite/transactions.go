package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"

	"ctjournal/app"
)

// querier is what a statement runs on: a transaction or a pool.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type txKey struct{}

// txOf is the transaction ctx carries: one of ours (inTx), or the
// projection subscriber's, which watermill-sql puts in each message's
// context. The writing pool has one connection, which that transaction
// holds: code inside it must write through it.
func txOf(ctx context.Context) *sql.Tx {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	if wtx, ok := wsql.TxFromContext(ctx); ok {
		if guarded, ok := wtx.(interface{ Unwrap() wsql.Tx }); ok {
			wtx = guarded.Unwrap()
		}
		if std, ok := wtx.(*wsql.StdSQLTx); ok {
			return std.Tx
		}
	}
	return nil
}

// inTx runs fn in the transaction ctx carries, or in a new one (IMMEDIATE:
// it holds the file's write lock from its start) committed when fn
// succeeds.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if tx := txOf(ctx); tx != nil {
		return fn(ctx, tx)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(fmt.Errorf("begin transaction: %w", err))
	}
	if err := fn(context.WithValue(ctx, txKey{}, tx), tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return unavailable(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// reader is where a query reads: the transaction ctx carries, if any, so
// that it sees that transaction's writes; the reading pool otherwise.
func (s *Store) reader(ctx context.Context) querier {
	if tx := txOf(ctx); tx != nil {
		return s.prepared(tx)
	}
	return s.read
}

// unavailable marks errors of the file itself (busy past the timeout, I/O,
// a closed pool) as app.ErrUnavailable; the app's own errors pass as they
// are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, app.ErrUnavailable) || errors.Is(err, app.ErrNotFound) {
		return err
	}
	var conflict *app.ConflictError
	var state *app.StateError
	if errors.As(err, &conflict) || errors.As(err, &state) {
		return err
	}
	return fmt.Errorf("%w: %w", app.ErrUnavailable, err)
}

// placeholders is "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
