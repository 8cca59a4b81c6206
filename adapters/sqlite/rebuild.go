package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"ctjournal/app"
)

// Rebuilder rebuilds the read models from the log (app.RebuildStore) into
// copies of the projection's tables in the same file, in bulk: the bulk
// phase folds the log in memory (bulkModel) and writes the copies' rows
// with multi-row INSERTs in transactions of their own, the copies bare of
// secondary indexes. Then one transaction, which holds the file's write
// lock and so the projection still, swaps the copies in, indexes them and
// folds what the live projection folded meanwhile. A rebuild stopped at
// any point before that commit leaves the live tables as they were; the
// copies it leaves are dropped by the next rebuild. It never touches the
// delivery queue: a rebuild never sends.
type Rebuilder struct {
	s   *Store
	cfg RebuildConfig
}

// RebuildConfig tunes a rebuild; zero values take the defaults.
type RebuildConfig struct {
	PageSize  int   // log records per read (5000)
	BatchRows int   // rows per write transaction (8192)
	MaxOrders int   // orders whose state the bulk phase keeps in memory (5000)
	SwapGap   int64 // the bulk phase goes on while the projection is this many records ahead (1000)
	// CacheMiB is the page cache of the writing connection during the
	// rebuild, for the copies' keys and the indexes built at the swap (16).
	CacheMiB int
}

func (c RebuildConfig) withDefaults() RebuildConfig {
	if c.PageSize <= 0 {
		c.PageSize = 5000
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 8192
	}
	if c.MaxOrders <= 0 {
		c.MaxOrders = 5000
	}
	if c.SwapGap <= 0 {
		c.SwapGap = 1000
	}
	if c.CacheMiB <= 0 {
		c.CacheMiB = 16
	}
	return c
}

// Rebuilder is a rebuilder of the store tuned by cfg.
func (s *Store) Rebuilder(cfg RebuildConfig) *Rebuilder { return &Rebuilder{s: s, cfg: cfg} }

// rebuildPrefix names the copies: ctj_orders is built as ctj_rebuild_orders.
const rebuildPrefix = "ctj_rebuild_"

var rebuildTables = func() *strings.Replacer {
	var pairs []string
	for _, t := range modelTables {
		pairs = append(pairs, t, rebuildPrefix+strings.TrimPrefix(t, "ctj_"))
	}
	return strings.NewReplacer(pairs...)
}()

// rebuildRun is one rebuild (app.RebuildRun).
type rebuildRun struct {
	s        *Store
	cfg      RebuildConfig
	upto     int64 // the bulk phase replays the log up to this offset
	after    int64 // the last offset replayed
	total    int64
	setAside int64
	rounds   int // times the bulk phase was extended

	pragmas  map[string]int64 // the writing connection's settings before the rebuild
	stopRead context.CancelFunc
	pages    <-chan logPage
	writer   *bulkWriter
	model    *bulkModel
}

// maxBulkRounds bounds how many times the bulk phase follows a projection
// that keeps folding: under steady ingest each round is as long as the
// one before.
const maxBulkRounds = 5

// StartRebuild creates empty copies of the projection's tables, without
// their secondary indexes, and fixes the bulk phase's end at the
// projection's offset: never beyond it, because a record the projection
// has not folded yet is still its to fold and queue.
func (r *Rebuilder) StartRebuild(ctx context.Context) (app.RebuildRun, error) {
	run := &rebuildRun{s: r.s, cfg: r.cfg.withDefaults()}
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
				if _, isIndex := indexName(stmt); isIndex {
					continue
				}
				if _, err := tx.ExecContext(ctx, rebuildTables.Replace(stmt)); err != nil {
					return fmt.Errorf("create the copy of %s: %w", t, err)
				}
			}
		}
		var err error
		if run.upto, err = projectionOffset(ctx, tx); err != nil {
			return err
		}
		if run.setAside, err = countSetAside(ctx, tx, 0, run.upto); err != nil {
			return err
		}
		// All records less the few past the offset: counting all of them
		// reads the small index on uuid, not the log's pages.
		return tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ctj_log) - (SELECT count(*) FROM ctj_log WHERE "offset" > ?)`,
			run.upto).Scan(&run.total)
	})
	if err == nil {
		err = run.setPragmas(ctx)
	}
	if err != nil {
		return nil, unavailable(errors.Join(fmt.Errorf("start rebuild: %w", err), run.Discard(context.WithoutCancel(ctx))))
	}
	run.total -= run.setAside
	run.writer = newBulkWriter(ctx, r.s.db, run.cfg.BatchRows)
	run.model = newBulkModel(run.writer, &orderLoader{read: r.s.read}, run.cfg.MaxOrders)
	run.startReading(ctx)
	return run, nil
}

// projectionOffset is the last offset the live projection acknowledged.
func projectionOffset(ctx context.Context, q querier) (int64, error) {
	var acked int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = ?), 0)`,
		ProjectionConsumerGroup).Scan(&acked)
	if err != nil {
		return 0, fmt.Errorf("read the projection's offset: %w", err)
	}
	return acked, nil
}

// countSetAside counts the records in (after, upto] the projection set
// aside.
func countSetAside(ctx context.Context, q querier, after, upto int64) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM ctj_poison WHERE position > ? AND position <= ?`, after, upto).Scan(&n); err != nil {
		return 0, fmt.Errorf("read the quarantine: %w", err)
	}
	return n, nil
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

func (r *rebuildRun) Total() int64          { return r.total }
func (r *rebuildRun) Models() app.ReadModel { return r.model }
func (r *rebuildRun) SetAside() int64       { return r.setAside }

// NextPage hands out the pages read ahead. At the bulk phase's end, while
// the projection is far ahead (a serve kept folding meanwhile), the bulk
// phase goes on up to its new offset, so that what the swap folds record
// by record, holding the lock, stays short.
func (r *rebuildRun) NextPage(ctx context.Context) ([]app.LogRecord, error) {
	for {
		var (
			p  logPage
			ok bool
		)
		select {
		case p, ok = <-r.pages:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !ok {
			extended, err := r.extend(ctx)
			if err != nil || !extended {
				return nil, err
			}
			continue
		}
		if p.err != nil {
			return nil, p.err
		}
		r.after = p.last
		if err := r.model.prefetch(ctx, p.records); err != nil {
			return nil, err
		}
		if len(p.records) > 0 {
			return p.records, nil
		}
	}
}

// extend moves the bulk phase's end to the projection's offset when that
// is at least SwapGap records further.
func (r *rebuildRun) extend(ctx context.Context) (bool, error) {
	if r.rounds >= maxBulkRounds {
		return false, nil
	}
	acked, err := projectionOffset(ctx, r.s.read)
	if err != nil {
		return false, unavailable(err)
	}
	if acked-r.upto < r.cfg.SwapGap {
		return false, nil
	}
	aside, err := countSetAside(ctx, r.s.read, r.upto, acked)
	if err != nil {
		return false, unavailable(err)
	}
	r.rounds++
	r.setAside += aside
	r.upto = acked
	r.startReading(ctx)
	return true, nil
}

func (r *rebuildRun) startReading(ctx context.Context) {
	if r.stopRead != nil {
		r.stopRead()
	}
	readCtx, stop := context.WithCancel(ctx)
	r.stopRead = stop
	r.pages = readAhead(readCtx, r.s.read, r.after, r.upto, r.cfg.PageSize)
}

// Seal writes the orders still in memory and applies the lead moves that
// waited for orders that never came back; the copies get their indexes at
// the swap.
func (r *rebuildRun) Seal(ctx context.Context) error {
	r.stopRead()
	if err := r.model.flush(); err != nil {
		return err
	}
	err := r.writer.close()
	r.writer = nil
	if err != nil {
		return err
	}
	return r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return r.model.applyLateMoves(ctx, tx) })
}

// SwapIn swaps the copies in and catches them up, in one transaction that
// holds the file's write lock, and so the projection still: the live
// tables are dropped, the copies renamed in their place and given the
// live tables' indexes, and the records the projection folded since the
// bulk phase's end are folded into them through the projection's own
// ReadModel.
func (r *rebuildRun) SwapIn(ctx context.Context, apply func(ctx context.Context, models app.ReadModel, rec app.LogRecord) error) (int64, error) {
	// The swap's commit is synced, and with it the pages written before.
	if err := r.restorePragmas(ctx, "synchronous"); err != nil {
		return 0, unavailable(fmt.Errorf("restore the connection's settings: %w", err))
	}
	var folded int64
	err := r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		acked, err := projectionOffset(ctx, tx)
		if err != nil {
			return err
		}
		if acked < r.upto {
			return fmt.Errorf("the projection's offset %d went back behind the rebuild's %d; was it reset?", acked, r.upto)
		}
		if err := swap(ctx, tx); err != nil {
			return err
		}
		recs, err := readLog(ctx, tx, r.upto, acked, -1)
		if err != nil {
			return err
		}
		models := newReadModel(r.s, liveTables)
		models.tx = tx
		for _, rec := range recs {
			err := inSavepoint(ctx, tx, func() error { return apply(ctx, models, rec) })
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
		return nil
	})
	return folded, errors.Join(err, r.restorePragmas(ctx))
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
		var stmts []string
		for _, stmt := range copyDDL {
			if name, ok := indexName(stmt); ok {
				stmts = append(stmts, `DROP INDEX `+name)
			}
		}
		stmts = append(stmts, `DROP TABLE `+t, `ALTER TABLE `+rebuildTables.Replace(t)+` RENAME TO `+t)
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

// setPragmas suits the writing connection to the bulk phase: a page cache
// that holds the copies' keys as they grow, and commits that do not wait
// for the disk. In WAL mode a commit not synced may be lost to a power
// cut, never the file's consistency; the copies are worth nothing until
// the swap, which runs with the settings restored and whose commit syncs
// the log of pages written before it.
func (r *rebuildRun) setPragmas(ctx context.Context) error {
	want := map[string]int64{"cache_size": -int64(r.cfg.CacheMiB) * 1024, "synchronous": 1} // 1: NORMAL
	saved := map[string]int64{}
	r.pragmas = saved
	for name, v := range want {
		var old int64
		if err := r.s.db.QueryRowContext(ctx, `PRAGMA `+name).Scan(&old); err != nil {
			return err
		}
		saved[name] = old
		if _, err := r.s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA %s = %d`, name, v)); err != nil {
			return err
		}
	}
	return nil
}

// restorePragmas gives the writing connection back the settings named,
// or all of them.
func (r *rebuildRun) restorePragmas(ctx context.Context, names ...string) error {
	var errs []error
	for name, v := range r.pragmas {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		_, err := r.s.db.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA %s = %d`, name, v))
		errs = append(errs, err)
		delete(r.pragmas, name)
	}
	return errors.Join(errs...)
}

// Discard stops the bulk phase and drops the copies.
func (r *rebuildRun) Discard(ctx context.Context) error {
	if r.stopRead != nil {
		r.stopRead()
	}
	if r.writer != nil {
		r.writer.abort()
		r.writer = nil
	}
	err := r.restorePragmas(ctx)
	return errors.Join(err, r.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return dropCopies(ctx, tx) }))
}
