// Package rebuild rebuilds the read models from the whole log beside the
// live ones, in bulk (COPY), and swaps them in once caught up.
package rebuild

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// rebuildLock keeps two rebuilds of one database from running at once.
const rebuildLock = 7_405_170_002

// RebuildConfig tunes a rebuild; zero values take the defaults.
type Config struct {
	PageSize   int   // log records per read (5000)
	BatchBytes int   // rows per COPY transaction, in bytes of COPY text (512 KiB)
	MaxOrders  int   // orders whose state the bulk phase keeps in memory (10000)
	SwapGap    int64 // catch up without the lock until fewer records than this were left (1000)
}

func (c Config) withDefaults() Config {
	if c.PageSize <= 0 {
		c.PageSize = 5000
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 512 << 10
	}
	if c.MaxOrders <= 0 {
		c.MaxOrders = 10_000
	}
	if c.SwapGap <= 0 {
		c.SwapGap = 1000
	}
	return c
}

// Rebuilder builds copies of the read models in the schema ctj_rebuild and
// swaps them in (app.RebuildStore).
type Rebuilder struct {
	db  *sql.DB
	cfg Config
}

func New(db *sql.DB, cfg Config) *Rebuilder {
	return &Rebuilder{db: db, cfg: cfg.withDefaults()}
}

// rebuildRun is one rebuild (app.RebuildRun).
type rebuildRun struct {
	db      *sql.DB
	cfg     Config
	lock    *sql.Conn // holds rebuildLock for the run
	live    string    // schema of the live read models and the log
	serials []serialColumn
	target  logPos // where the bulk phase ends: the projection's offset at the start
	total   int64
	aside   map[int64]bool // positions of the records the projection set aside, up to target
	skipped int64          // records set aside that the rebuild skipped

	stopRead context.CancelFunc
	pages    <-chan logPage
	writer   *bulkWriter
	model    *bulkModel
	done     bool // the writer is closed
}

// StartRebuild takes the rebuild lock, creates empty copies and fixes the
// bulk phase's end at the projection's offset: never beyond it, because a
// record the projection has not folded yet is still its to fold and queue.
func (r *Rebuilder) StartRebuild(ctx context.Context) (app.RebuildRun, error) {
	lock, err := r.db.Conn(ctx)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("connect: %w", err))
	}
	var locked bool
	if err := lock.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, rebuildLock).Scan(&locked); err != nil {
		lock.Close()
		return nil, pgdb.Unavailable(fmt.Errorf("take the rebuild lock: %w", err))
	}
	if !locked {
		lock.Close()
		return nil, errors.New("another rebuild is running on this database")
	}
	run := &rebuildRun{db: r.db, cfg: r.cfg, lock: lock}
	if err := run.start(ctx); err != nil {
		return nil, errors.Join(err, run.Discard(context.WithoutCancel(ctx)))
	}
	return run, nil
}

func (r *rebuildRun) start(ctx context.Context) error {
	var err error
	if r.live, err = liveSchemaOf(ctx, r.lock); err != nil {
		return err
	}
	if r.target, err = projectionPosition(ctx, r.db, r.live, false); err != nil {
		return err
	}
	// Counting reads the whole log once: on a connection of its own while
	// the copies are made and the first pages read.
	counted := make(chan error, 1)
	go func() {
		var err error
		r.total, err = countLog(ctx, r.db, r.live, r.target)
		counted <- err
	}()
	err = pgdb.InTx(ctx, r.db, func(ctx context.Context, tx *sql.Tx) error {
		r.serials, err = createCopies(ctx, tx, r.live)
		return err
	})
	if err != nil {
		return errors.Join(err, <-counted)
	}
	// Read after the offset: a record the projection set aside commits
	// with the offset that passes it.
	if r.aside, err = setAsidePositions(ctx, r.db, nil); err != nil {
		return errors.Join(err, <-counted)
	}
	readCtx, stop := context.WithCancel(ctx)
	r.stopRead = stop
	r.pages = readAhead(readCtx, r.db, r.live, logPos{}, r.target, r.cfg.PageSize)
	if r.writer, err = newBulkWriter(ctx, r.db, r.cfg.BatchBytes, bulkTargets(rebuildSchema)...); err != nil {
		return errors.Join(err, <-counted)
	}
	r.model = newBulkModel(r.writer, &orderLoader{db: r.db, live: r.live}, r.cfg.MaxOrders)
	if err := <-counted; err != nil {
		return err
	}
	r.total -= int64(len(r.aside))
	return nil
}

func (r *rebuildRun) Total() int64          { return max(r.total, 0) }
func (r *rebuildRun) Models() app.ReadModel { return r.model }

func (r *rebuildRun) NextPage(ctx context.Context) ([]app.LogRecord, error) {
	var p logPage
	select {
	case p = <-r.pages:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	recs, skipped := withoutSetAside(p.records, r.aside)
	r.skipped += int64(skipped)
	if err := r.model.prefetch(ctx, p.orderIDs); err != nil {
		return nil, err
	}
	return recs, nil
}

// SetAside counts the records the rebuild skipped as set aside.
func (r *rebuildRun) SetAside() int64 { return r.skipped }

// Discard stops the bulk phase, drops the copies and releases the lock.
func (r *rebuildRun) Discard(ctx context.Context) error {
	if r.stopRead != nil {
		r.stopRead()
	}
	if r.model != nil && !r.done {
		r.done = true
		r.model.abort()
	}
	_, err := r.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+rebuildSchema+` CASCADE`)
	if err != nil {
		err = fmt.Errorf("drop schema %s: %w", rebuildSchema, err)
	}
	return errors.Join(err, r.unlock(ctx))
}

func (r *rebuildRun) unlock(ctx context.Context) error {
	if r.lock == nil {
		return nil
	}
	_, err := r.lock.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, rebuildLock)
	r.lock.Close()
	r.lock = nil
	return err
}
