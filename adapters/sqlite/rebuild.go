package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"ctjournal/app"
)

// Rebuilder rebuilds the read models from the log (app.RebuildStore): it
// replays the log into fresh copies of the projection's tables, page by
// page, each page in one transaction, then folds what the live projection
// folded meanwhile and swaps the copies in, in one transaction that holds
// the file's write lock and so the projection still. It never touches the
// delivery queue: a rebuild never sends.
type Rebuilder struct{ s *Store }

// rebuildPrefix names the copies: ctj_orders is built as ctj_rebuild_orders.
const rebuildPrefix = "ctj_rebuild_"

var rebuildTables = func() *strings.Replacer {
	var pairs []string
	for _, t := range modelTables {
		pairs = append(pairs, t, rebuildPrefix+strings.TrimPrefix(t, "ctj_"))
	}
	return strings.NewReplacer(pairs...)
}()

// rebuildPage is how many records a page folds in one transaction.
const rebuildPage = 2000

func (r *Rebuilder) StartRebuild(ctx context.Context) (app.RebuildRun, error) {
	run := &rebuildRun{s: r.s}
	err := r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := dropCopies(ctx, tx); err != nil {
			return err
		}
		for _, t := range modelTables {
			ddl, err := schemaOf(ctx, tx, t)
			if err != nil {
				return err
			}
			for _, stmt := range ddl {
				if _, err := tx.ExecContext(ctx, rebuildTables.Replace(stmt)); err != nil {
					return fmt.Errorf("create the copy of %s: %w", t, err)
				}
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = ?), 0)`,
			ProjectionConsumerGroup).Scan(&run.upto); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_poison WHERE position <= ?`, run.upto).Scan(&run.setAside); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM ctj_log WHERE "offset" <= ?`, run.upto).Scan(&run.total)
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("start rebuild: %w", err))
	}
	run.models = newReadModel(r.s, rebuildTables)
	run.total -= run.setAside
	return run, nil
}

// schemaOf is the CREATE statements of table t and of its indexes.
func schemaOf(ctx context.Context, q querier, t string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL
		ORDER BY type = 'index', name`, t)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", t, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			return nil, err
		}
		out = append(out, stmt)
	}
	return out, rows.Err()
}

func dropCopies(ctx context.Context, tx *sql.Tx) error {
	for _, t := range modelTables {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+rebuildTables.Replace(t)); err != nil {
			return fmt.Errorf("drop the copy of %s: %w", t, err)
		}
	}
	return nil
}

type rebuildRun struct {
	s        *Store
	models   *ReadModel
	upto     int64 // the bulk phase replays the log up to this offset
	after    int64 // the last offset replayed
	total    int64
	setAside int64
}

func (r *rebuildRun) Total() int64          { return r.total }
func (r *rebuildRun) Models() app.ReadModel { return r.models }
func (r *rebuildRun) SetAside() int64       { return r.setAside }

// NextPage commits the page folded before and opens the transaction the
// next one folds in.
func (r *rebuildRun) NextPage(ctx context.Context) ([]app.LogRecord, error) {
	if err := r.commitPage(); err != nil {
		return nil, err
	}
	page, err := readLog(ctx, r.s.read, r.after, r.upto, rebuildPage)
	if err != nil || len(page) == 0 {
		return nil, err
	}
	r.after = page[len(page)-1].Position
	tx, err := r.s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(fmt.Errorf("begin a page: %w", err))
	}
	r.models.tx = tx
	return page, nil
}

func (r *rebuildRun) commitPage() error {
	if r.models.tx == nil {
		return nil
	}
	tx := r.models.tx
	r.models.tx = nil
	if err := tx.Commit(); err != nil {
		return unavailable(fmt.Errorf("write a page: %w", err))
	}
	return nil
}

// readLog reads the records after offset after, up to upto, but those set
// aside.
func readLog(ctx context.Context, q querier, after, upto int64, limit int) ([]app.LogRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT "offset", created_at, payload FROM ctj_log
		WHERE "offset" > ? AND "offset" <= ? AND "offset" NOT IN (SELECT position FROM ctj_poison)
		ORDER BY "offset" LIMIT ?`, after, upto, limit)
	if err != nil {
		return nil, unavailable(fmt.Errorf("read the log: %w", err))
	}
	defer rows.Close()
	var out []app.LogRecord
	for rows.Next() {
		var (
			rec app.LogRecord
			at  stamp
		)
		if err := rows.Scan(&rec.Position, &at, &rec.Payload); err != nil {
			return nil, unavailable(err)
		}
		rec.RecordedAt = at.Time
		out = append(out, rec)
	}
	return out, unavailable(rows.Err())
}

func (r *rebuildRun) Seal(context.Context) error { return r.commitPage() }

func (r *rebuildRun) SwapIn(ctx context.Context, apply func(ctx context.Context, models app.ReadModel, rec app.LogRecord) error) (int64, error) {
	if err := r.commitPage(); err != nil {
		return 0, err
	}
	var folded int64
	err := r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var acked int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = ?), 0)`,
			ProjectionConsumerGroup).Scan(&acked); err != nil {
			return err
		}
		recs, err := readLog(ctx, tx, r.upto, acked, -1)
		if err != nil {
			return err
		}
		r.models.tx = tx
		defer func() { r.models.tx = nil }()
		for _, rec := range recs {
			err := inSavepoint(ctx, tx, func() error { return apply(ctx, r.models, rec) })
			var permanent *app.PermanentError
			switch {
			case err == nil:
				folded++
			case errors.As(err, &permanent):
				r.setAside++
			default:
				return fmt.Errorf("fold record %d: %w", rec.Position, err)
			}
		}
		return swap(ctx, tx)
	})
	return folded, err
}

// swap drops the live tables and renames the copies in their place, with
// the live tables' indexes.
func swap(ctx context.Context, tx *sql.Tx) error {
	for _, t := range modelTables {
		ddl, err := schemaOf(ctx, tx, t)
		if err != nil {
			return err
		}
		copyDDL, err := schemaOf(ctx, tx, rebuildTables.Replace(t))
		if err != nil {
			return err
		}
		stmts := []string{`DROP TABLE ` + t, `ALTER TABLE ` + rebuildTables.Replace(t) + ` RENAME TO ` + t}
		for _, stmt := range copyDDL {
			if name, ok := indexName(stmt); ok {
				stmts = append(stmts, `DROP INDEX `+name)
			}
		}
		for _, stmt := range ddl {
			if _, ok := indexName(stmt); ok {
				stmts = append(stmts, stmt)
			}
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("swap %s in: %s: %w", t, stmt, err)
			}
		}
	}
	return nil
}

// indexName is the name a CREATE INDEX statement creates.
func indexName(stmt string) (string, bool) {
	fields := strings.Fields(stmt)
	for i, f := range fields {
		if strings.EqualFold(f, "INDEX") && i+1 < len(fields) {
			return fields[i+1], true
		}
	}
	return "", false
}

func (r *rebuildRun) Discard(ctx context.Context) error {
	if r.models.tx != nil {
		r.models.tx.Rollback()
		r.models.tx = nil
	}
	return r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return dropCopies(ctx, tx) })
}
