package postgres

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
type statements struct {
	db      *sql.DB
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, byQuery: map[string]*sql.Stmt{}}
}

func (s *statements) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
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
func (s *statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// ExecContext runs query prepared, outside any transaction.
func (s *statements) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

// executor is the statements as the ContextExecutor of a watermill-sql
// publisher: each statement autocommitted, prepared.
type executor struct{ *statements }

func (e executor) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	return e.statements.ExecContext(ctx, query, args...)
}

func (e executor) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	return e.statements.QueryContext(ctx, query, args...)
}

// preparedTx runs queries in tx through the prepared statements.
type preparedTx struct {
	tx    *sql.Tx
	stmts *statements
}

func (p preparedTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, err := p.stmts.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return p.tx.StmtContext(ctx, stmt), nil
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	return stmt.ExecContext(ctx, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	// Closing a statement of the transaction leaves the prepared one on
	// its connection; the rows stay readable until closed.
	defer stmt.Close()
	return stmt.QueryContext(ctx, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := p.stmt(ctx, query)
	if err != nil {
		return p.tx.QueryRowContext(ctx, query, args...) // unprepared, then
	}
	defer stmt.Close()
	return stmt.QueryRowContext(ctx, args...)
}
