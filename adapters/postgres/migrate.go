package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"ctjournal/adapters/postgres/internal/pgdb"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock serialises schema changes of several processes starting at once.
const migrationLock = 7_405_170_001

// Migrate creates or upgrades the schema: watermill-sql's tables for the
// log first, then ours, each migration once, under an advisory lock.
func Migrate(ctx context.Context, db *sql.DB) error {
	for _, topic := range []string{pgdb.LogTopic, pgdb.PoisonTopic} {
		sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
			SchemaAdapter:  pgdb.NewLogSchema(0),
			OffsetsAdapter: pgdb.OffsetsAdapter(),
		}, watermill.NopLogger{})
		if err != nil {
			return fmt.Errorf("log subscriber: %w", err)
		}
		if err := sub.SubscribeInitialize(topic); err != nil {
			return pgdb.Unavailable(fmt.Errorf("create log table %s: %w", topic, err))
		}
	}
	return pgdb.InTx(ctx, db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ctj_schema_migrations (
			name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		names, err := fs.Glob(migrations, "migrations/*.sql")
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			if err := applyOnce(ctx, tx, name); err != nil {
				return err
			}
		}
		return nil
	})
}

func applyOnce(ctx context.Context, tx *sql.Tx, name string) error {
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ctj_schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
		return fmt.Errorf("check migration %s: %w", name, err)
	}
	if done {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_schema_migrations (name) VALUES ($1)`, name); err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	return nil
}
