package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// rebuildSchema holds a rebuild's copies of the read models while they are
// built. The copies keep the live tables' names, so the projection's own
// SQL runs against them under search_path, and moving them into the live
// schema swaps them in with every index and sequence name as it was.
const rebuildSchema = "ctj_rebuild"

// readModelTables are the tables a rebuild recreates. The write side
// (ctj_widget_policies, ctj_order_widgets), the delivery queue
// (ctj_deliveries) and the log are never touched.
var readModelTables = []string{"ctj_policy_versions", "ctj_orders", "ctj_order_events", "ctj_decisions", "ctj_delivery_tries"}

// serialColumn is a copy's column numbered by a sequence of its own.
type serialColumn struct {
	table, column, sequence string
}

// liveSchemaOf names the schema holding the live read models: the one the
// connection's search_path finds them in.
func liveSchemaOf(ctx context.Context, q querier) (string, error) {
	var schema sql.NullString
	err := q.QueryRowContext(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass('ctj_orders')`).Scan(&schema)
	if err != nil {
		return "", fmt.Errorf("find the read models: %w", err)
	}
	if !schema.Valid {
		return "", fmt.Errorf("find the read models: table ctj_orders does not exist (is the schema migrated?)")
	}
	if schema.String == rebuildSchema {
		return "", fmt.Errorf("find the read models: search_path finds them in %s, the rebuild's own schema", rebuildSchema)
	}
	return schema.String, nil
}

// createCopies drops what an earlier, killed rebuild left and creates empty
// copies of the read models: the same columns, defaults and checks, each
// serial column on a sequence of its own. Keys and indexes come later
// (buildIndexes): loading into bare tables is much faster.
func createCopies(ctx context.Context, tx *sql.Tx, live string) ([]serialColumn, error) {
	if _, err := tx.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+rebuildSchema+` CASCADE; CREATE SCHEMA `+rebuildSchema); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", rebuildSchema, err)
	}
	var serials []serialColumn
	for _, t := range readModelTables {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES)`,
			qualified(rebuildSchema, t), qualified(live, t))); err != nil {
			return nil, fmt.Errorf("create copy of %s: %w", t, err)
		}
		cols, err := serialColumns(ctx, tx, live, t)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			seq := qualified(rebuildSchema, c.sequence)
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE SEQUENCE %s AS %s OWNED BY %s.%s;
				ALTER TABLE %[3]s ALTER COLUMN %[4]s SET DEFAULT nextval('%[1]s'::regclass)`,
				seq, c.dataType, qualified(rebuildSchema, t), quoteIdent(c.column))); err != nil {
				return nil, fmt.Errorf("create sequence of %s.%s: %w", t, c.column, err)
			}
			serials = append(serials, c.serialColumn)
		}
	}
	return serials, nil
}

type liveSerial struct {
	serialColumn
	dataType string
}

// serialColumns lists the live table's columns that own a sequence
// (bigserial), with the sequence's name and type.
func serialColumns(ctx context.Context, tx *sql.Tx, live, table string) ([]liveSerial, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.attname, s.relname, format_type(q.seqtypid, NULL)
		FROM pg_attribute a
		JOIN pg_depend d ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
			AND d.classid = 'pg_class'::regclass AND d.deptype = 'a'
		JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
		JOIN pg_sequence q ON q.seqrelid = s.oid
		WHERE a.attrelid = $1::regclass AND a.attidentity = '' AND NOT a.attisdropped
		ORDER BY a.attnum`, qualified(live, table))
	if err != nil {
		return nil, fmt.Errorf("list sequences of %s: %w", table, err)
	}
	defer rows.Close()
	var out []liveSerial
	for rows.Next() {
		c := liveSerial{serialColumn: serialColumn{table: table}}
		if err := rows.Scan(&c.column, &c.sequence, &c.dataType); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// buildIndexes gives each copy the keys and indexes of its live table, by
// the same names, skipping those already built. Index names are unique per
// schema, so the copies' can equal the live ones until the swap.
func buildIndexes(ctx context.Context, q querier, live string, tables ...string) error {
	for _, t := range tables {
		stmts, err := missingIndexes(ctx, q, live, t)
		if err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := q.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("index copy of %s: %w", t, err)
			}
		}
	}
	return nil
}

func missingIndexes(ctx context.Context, q querier, live, table string) ([]string, error) {
	// Constraints (primary key, unique) keep being constraints, so that
	// ON CONFLICT and the catalog see them as the live ones; other indexes
	// are recreated from their definitions.
	rows, err := q.QueryContext(ctx, `
		SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', $2::text, con.conname, pg_get_constraintdef(con.oid))
		FROM pg_constraint con
		WHERE con.conrelid = $1::regclass AND con.contype IN ('p', 'u', 'x')
			AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = con.conname AND c.relnamespace = $3::regnamespace)
		UNION ALL
		SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || $1::regclass::text || ' ', ' ON ' || $2::text || ' ')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
			AND NOT EXISTS (SELECT 1 FROM pg_class o WHERE o.relname = c.relname AND o.relnamespace = $3::regnamespace)`,
		qualified(live, table), qualified(rebuildSchema, table), rebuildSchema)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if strings.HasPrefix(s, "CREATE") && !strings.Contains(s, " ON "+qualified(rebuildSchema, table)+" ") {
			return nil, fmt.Errorf("index copy of %s: cannot retarget %q", table, s)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// qualified names schema.table, quoting each part when it needs it.
func qualified(schema, name string) string { return quoteIdent(schema) + "." + quoteIdent(name) }

// quoteIdent quotes an identifier the way PostgreSQL prints it: only when
// it is not plain lower-case letters, digits and underscores.
func quoteIdent(s string) string {
	plain := s != "" && (s[0] < '0' || s[0] > '9')
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
