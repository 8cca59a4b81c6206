package rebuild

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/app"
)

// catchUpPage is how many records one catch-up read and transaction take.
const catchUpPage = 500

// maxUnlockedRounds bounds the catch-up rounds run without the lock.
const maxUnlockedRounds = 5

// applyFunc folds one record into the models it is given.
type applyFunc = func(ctx context.Context, models app.ReadModel, rec app.LogRecord) error

// SwapIn catches the copies up with the live projection and swaps them in.
// While the projection is far ahead (serve kept folding during the bulk
// phase) the copies catch up in short transactions of their own; then one
// transaction locks the projection's offsets row, which holds every
// projection still (each of its polls locks that row first), folds the
// records up to exactly that offset, and swaps: the old tables are dropped
// and the copies moved into the live schema, keys, indexes and sequences
// with them. A query that serve runs meanwhile waits for the swap's commit
// and then reads the new tables; the projection goes on from its offset
// against them.
func (r *rebuildRun) SwapIn(ctx context.Context, apply applyFunc) (int64, error) {
	var folded int64
	pos := r.target
	// Each round folds what the projection folded during the round before;
	// under steady ingest that shrinks to a round's worth of traffic and no
	// further, so the rounds are counted.
	last := int64(-1)
	for round := 0; round < maxUnlockedRounds; round++ {
		to, err := projectionPosition(ctx, r.db, r.live, false)
		if err != nil {
			return folded, err
		}
		n := int64(0)
		for pos.less(to) {
			var m int
			err := pgdb.InTx(ctx, r.db, func(ctx context.Context, tx *sql.Tx) error {
				var err error
				m, pos, err = r.catchUp(ctx, tx, pos, to, apply)
				return err
			})
			if err != nil {
				return folded, err
			}
			n += int64(m)
		}
		folded += n
		if n < r.cfg.SwapGap || last >= 0 && n >= last {
			break
		}
		last = n
	}
	err := pgdb.InTx(ctx, r.db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '30s'`); err != nil {
			return err
		}
		// A projection that never ran has no row to lock yet: add the one
		// its first subscription would, so that it waits for the swap too.
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+qualified(r.live, "ctj_log_offsets")+`
			(consumer_group, offset_acked, last_processed_transaction_id) VALUES ($1, 0, '0') ON CONFLICT DO NOTHING`,
			pgdb.ProjectionConsumerGroup); err != nil {
			return fmt.Errorf("add the projection's offsets row: %w", err)
		}
		to, err := projectionPosition(ctx, tx, r.live, true)
		if err != nil {
			return err
		}
		if to.less(pos) {
			return fmt.Errorf("the projection's offset %s went back behind the rebuild's %s; was it reset?", to, pos)
		}
		for pos.less(to) {
			var m int
			if m, pos, err = r.catchUp(ctx, tx, pos, to, apply); err != nil {
				return err
			}
			folded += int64(m)
		}
		return r.swap(ctx, tx)
	})
	if err != nil {
		return folded, err
	}
	r.done = true
	r.stopRead()
	// Swapped: a failure to unlock cannot undo that, and closing the
	// connection releases the lock anyway.
	_ = r.unlock(context.WithoutCancel(ctx))
	return folded, nil
}

// catchUp folds one page of records after pos, up to to, into the copies,
// inside tx: the projection's own ReadModel runs against the copies, which
// search_path puts before the live tables. A record the projection set
// aside is skipped, and so is one that fails here for a reason of its own
// (not the store's), undone in its savepoint. It returns how many records
// it folded.
func (r *rebuildRun) catchUp(ctx context.Context, tx *sql.Tx, pos, to logPos, apply applyFunc) (int, logPos, error) {
	if _, err := tx.ExecContext(ctx, `SET LOCAL search_path TO `+rebuildSchema+`, `+quoteIdent(r.live)+`; SET LOCAL `+strings.TrimPrefix(orderedScan, "SET ")); err != nil {
		return 0, pos, fmt.Errorf("set search_path: %w", err)
	}
	recs, last, err := readLog(ctx, tx, r.live, pos, to, catchUpPage)
	if err != nil {
		return 0, pos, err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_sort TO DEFAULT`); err != nil {
		return 0, pos, err
	}
	if len(recs) == 0 {
		return 0, pos, fmt.Errorf("the log ends at %s, before the projection's offset %s", pos, to)
	}
	positions := make([]int64, len(recs))
	for i, rec := range recs {
		positions[i] = rec.Position
	}
	aside, err := setAsidePositions(ctx, tx, positions)
	if err != nil {
		return 0, pos, err
	}
	recs, skipped := withoutSetAside(recs, aside)
	models := projection.NewReadModel(r.db)
	txCtx := pgdb.WithTx(ctx, tx)
	folded := 0
	for _, rec := range recs {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT rebuild_record`); err != nil {
			return 0, pos, err
		}
		err := apply(txCtx, models, rec)
		switch {
		case err != nil && pgdb.StoreTrouble(err):
			return 0, pos, fmt.Errorf("fold record %d: %w", rec.Position, err)
		case err != nil:
			skipped++
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT rebuild_record; RELEASE SAVEPOINT rebuild_record`); err != nil {
				return 0, pos, err
			}
		default:
			folded++
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT rebuild_record`); err != nil {
				return 0, pos, err
			}
		}
	}
	r.skipped += int64(skipped)
	_, err = tx.ExecContext(ctx, `SET LOCAL search_path TO DEFAULT`)
	return folded, last, err
}

// swap drops the live read models and moves the copies in their place.
func (r *rebuildRun) swap(ctx context.Context, tx *sql.Tx) error {
	for _, t := range readModelTables {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+qualified(r.live, t)); err != nil {
			return fmt.Errorf("drop the old %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+qualified(rebuildSchema, t)+` SET SCHEMA `+quoteIdent(r.live)); err != nil {
			return fmt.Errorf("move the new %s in: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP SCHEMA `+rebuildSchema+` CASCADE`); err != nil {
		return fmt.Errorf("drop schema %s: %w", rebuildSchema, err)
	}
	return nil
}
