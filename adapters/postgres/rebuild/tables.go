package rebuild

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ctjournal/adapters/postgres/internal/pgdb"
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
func liveSchemaOf(ctx context.Context, q pgdb.Querier) (string, error) {
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
		if err := copyGrants(ctx, tx, live, t); err != nil {
			return nil, err
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

// copyGrants gives the copy the live table's owner and privileges, so
// that roles analysts query with keep their access after the swap.
func copyGrants(ctx context.Context, tx *sql.Tx, live, table string) error {
	stmts, err := pgdb.QueryTexts(ctx, tx, `
		SELECT format('ALTER TABLE %s OWNER TO %s', $2::text, c.relowner::regrole::text)
		FROM pg_class c WHERE c.oid = $1::regclass AND c.relowner <> (SELECT relowner FROM pg_class WHERE oid = $2::regclass)
		UNION ALL
		SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, $2::text,
			CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
			CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
		FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`,
		qualified(live, table), qualified(rebuildSchema, table))
	if err != nil {
		return fmt.Errorf("read the privileges on %s: %w", table, err)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("give the copy of %s the live table's owner and privileges: %s: %w", table, stmt, err)
		}
	}
	return nil
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

// indexPlan builds one of a copy's indexes by its live name and, for an
// index behind a key, makes it that key again.
type indexPlan struct {
	table      string
	create     string // CREATE [UNIQUE] INDEX …; empty when the index exists
	constraint string // ALTER TABLE … ADD CONSTRAINT … USING INDEX; empty when none or it exists
}

// planIndexes lists what the copy of table lacks of its live table's
// indexes and keys (primary key, unique), by the same names: index names
// are unique per schema, so the copies' can equal the live ones until the
// swap.
func planIndexes(ctx context.Context, q pgdb.Querier, live, table string) ([]indexPlan, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || $2::text || ' ', ' ON ' || $3::text || ' '),
			EXISTS (SELECT 1 FROM pg_class o WHERE o.relname = c.relname AND o.relnamespace = $4::regnamespace),
			COALESCE(con.conname, ''), COALESCE(con.contype::text, ''), COALESCE(pg_get_constraintdef(con.oid), ''),
			con.conname IS NOT NULL AND EXISTS (SELECT 1 FROM pg_constraint oc
				WHERE oc.conname = con.conname AND oc.conrelid = $3::regclass)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
		WHERE i.indrelid = $1::regclass
		ORDER BY c.relname`,
		qualified(live, table), qualified(live, table), qualified(rebuildSchema, table), rebuildSchema)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	defer rows.Close()
	var out []indexPlan
	for rows.Next() {
		var (
			def, conName, conType, conDef string
			built, constrained            bool
		)
		if err := rows.Scan(&def, &built, &conName, &conType, &conDef, &constrained); err != nil {
			return nil, err
		}
		if !strings.Contains(def, " ON "+qualified(rebuildSchema, table)+" ") {
			return nil, fmt.Errorf("index copy of %s: cannot retarget %q", table, def)
		}
		p := indexPlan{table: table}
		if !built {
			p.create = def
		}
		if conName != "" && !constrained {
			copyTable := qualified(rebuildSchema, table)
			switch conType {
			case "p":
				p.constraint = fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY USING INDEX %[2]s`, copyTable, quoteIdent(conName))
			case "u":
				p.constraint = fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s UNIQUE USING INDEX %[2]s`, copyTable, quoteIdent(conName))
			default: // an exclusion constraint builds its own index
				p.create = ""
				if !built {
					p.constraint = fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s %s`, copyTable, quoteIdent(conName), conDef)
				}
			}
		}
		if p.create != "" || p.constraint != "" {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// buildIndexes gives the copies of tables what planIndexes finds missing,
// one statement after the other. keep, when set, picks the plans to run.
func buildIndexes(ctx context.Context, q pgdb.Querier, live string, keep func(indexPlan) bool, tables ...string) error {
	for _, t := range tables {
		plans, err := planIndexes(ctx, q, live, t)
		if err != nil {
			return err
		}
		for _, p := range plans {
			if keep != nil && !keep(p) {
				continue
			}
			for _, stmt := range []string{p.create, p.constraint} {
				if stmt == "" {
					continue
				}
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("index copy of %s: %w", t, err)
				}
			}
		}
	}
	return nil
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
