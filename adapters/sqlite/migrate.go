package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate creates the log's tables, then applies each migration file not
// applied yet, in name order, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	var queries []wsql.Query
	logQueries, err := logSchema.SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams{Topic: LogTopic})
	if err != nil {
		return err
	}
	offsetQueries, err := logOffsets.SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams{Topic: LogTopic})
	if err != nil {
		return err
	}
	queries = append(append(queries, logQueries...), offsetQueries...)
	queries = append(queries, wsql.Query{Query: `CREATE TABLE IF NOT EXISTS ctj_migrations (name TEXT PRIMARY KEY)`})
	for _, q := range queries {
		if _, err := db.ExecContext(ctx, q.Query, q.Args...); err != nil {
			return fmt.Errorf("create the log: %w", err)
		}
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, db, name, string(body)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, name, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_migrations WHERE name = ?`, name).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}
