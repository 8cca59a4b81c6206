package pgdb

import (
	"context"
	"database/sql"
	"sync"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// statements prepares each query once per connection and keeps it, so the
// queries of the hot paths (a projection poll, an ingest group, a delivery
// round) are parsed once instead of every time; each run is still planned
// afresh (plan_cache_mode, see Open). PostgreSQL analyses a prepared
// statement again by itself when a table it reads is replaced (a rebuild's
// swap). Only fixed query texts belong here.
type Statements struct {
	db      *sql.DB
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
}

func NewStatements(db *sql.DB) *Statements {
	return &Statements{db: db, byQuery: map[string]*sql.Stmt{}}
}

func (s *Statements) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stmt, ok := s.byQuery[query]; ok {
		return stmt, nil
	}
	stmt, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.byQuery[query] = stmt
	return stmt, nil
}

// QueryContext runs query prepared, outside any transaction.
func (s *Statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// ExecContext runs query prepared, outside any transaction.
func (s *Statements) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

// executor is the statements as the ContextExecutor of a watermill-sql
// publisher: each statement autocommitted, prepared.
type Executor struct{ *Statements }

func (e Executor) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	return e.Statements.ExecContext(ctx, query, args...)
}

func (e Executor) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	return e.Statements.QueryContext(ctx, query, args...)
}

// preparedTx runs queries in tx through the prepared statements.
type PreparedTx struct {
	Tx    *sql.Tx
	Stmts *Statements
}

func (p PreparedTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, err := p.Stmts.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return p.Tx.StmtContext(ctx, stmt), nil
}

func (p PreparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	return stmt.ExecContext(ctx, args...)
}

func (p PreparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	// Closing a statement of the transaction leaves the prepared one on
	// its connection; the rows stay readable until closed.
	defer stmt.Close()
	return stmt.QueryContext(ctx, args...)
}

func (p PreparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return p.Tx.QueryRowContext(ctx, query, args...) // unprepared, then
	}
	defer stmt.Close()
	return stmt.QueryRowContext(ctx, args...)
}
