// Package sqlrows reads query results into slices, alike for both stores:
// each gives its SQL, in its dialect, and how one row becomes a value.
package sqlrows

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier runs a query: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Collect runs query and reads every row with scan. Its errors, the
// query's and each row's, are wrapped with what, which names the rows
// ("read the policies").
func Collect[T any](ctx context.Context, q Querier, what string, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
