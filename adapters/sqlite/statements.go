package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// txStatements prepares each query once per write transaction instead of
// at every call: the projection and a rebuild run the same few statements
// for every record of a batch, and parsing them again each time is most
// of what a record costs. The writing pool has one connection, so the
// process has one write transaction at a time: the cache holds that one's
// statements, which database/sql closes when it ends.
type txStatements struct {
	mu    sync.Mutex
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (c *txStatements) prepare(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tx != tx {
		c.tx, c.stmts = tx, map[string]*sql.Stmt{}
	}
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// preparedTx is a write transaction whose statements are prepared once
// (a querier).
type preparedTx struct {
	tx    *sql.Tx
	cache *txStatements
}

// prepared is tx with its statements prepared once.
func (s *Store) prepared(tx *sql.Tx) preparedTx { return preparedTx{tx: tx, cache: &s.stmts} }

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.cache.prepare(ctx, p.tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.cache.prepare(ctx, p.tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext reports a statement that cannot be prepared through
// the transaction itself, which fails alike: a *sql.Row carries its error.
func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.cache.prepare(ctx, p.tx, query)
	if err != nil {
		return p.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
