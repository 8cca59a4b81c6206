package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RebuildResult is what a finished rebuild did.
type RebuildResult struct {
	Events   int64         // log records folded
	Skipped  int64         // records set aside: the projection cannot apply them
	Duration time.Duration //
}

// Rate is the records folded per second.
func (r RebuildResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Events) / r.Duration.Seconds()
}

// RebuildReadModels recreates every read model from the log through the
// projection's own rules (ProjectRecord), with an outbox that queues
// nothing: a rebuild never sends and never touches delivery state, which
// it reads back from the tries the log holds.
type RebuildReadModels struct {
	store RebuildStore
	now   func() time.Time
}

func NewRebuildReadModels(store RebuildStore, now func() time.Time) RebuildReadModels {
	return RebuildReadModels{store: store, now: now}
}

// Handle runs a rebuild. Whatever stops it before the swap (an error, ctx
// ending on SIGINT) leaves the live models as they were and drops the copy.
func (h RebuildReadModels) Handle(ctx context.Context, progress RebuildProgress) (res RebuildResult, err error) {
	start := h.now()
	run, err := h.store.StartRebuild(ctx)
	if err != nil {
		return res, fmt.Errorf("start rebuild: %w", err)
	}
	swapped := false
	defer func() {
		if swapped {
			return
		}
		if dErr := run.Discard(context.WithoutCancel(ctx)); dErr != nil {
			err = errors.Join(err, fmt.Errorf("drop the partial copy: %w", dErr))
		}
	}()

	project := NewProjectRecord(run.Models(), discardOutbox{})
	progress.Started(run.Total())
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		page, err := run.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("replay the log: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, rec := range page {
			if err := foldOne(ctx, project, rec, &res); err != nil {
				return res, err
			}
		}
		progress.Advanced(len(page))
	}
	progress.Stage("writing indexes and lead statuses")
	if err := run.Seal(ctx); err != nil {
		return res, fmt.Errorf("write the copy: %w", err)
	}
	progress.Stage("catching up with the live projection and swapping in")
	n, err := run.SwapIn(ctx, func(ctx context.Context, models ReadModel, rec LogRecord) error {
		return applyRecord(ctx, NewProjectRecord(models, discardOutbox{}), rec)
	})
	if err != nil {
		return res, fmt.Errorf("swap in: %w", err)
	}
	swapped = true
	res.Events += n
	res.Skipped += run.SetAside()
	res.Duration = h.now().Sub(start)
	return res, nil
}

// foldOne applies one record. A record the live projection could not
// apply either is set aside alike: skipped.
func foldOne(ctx context.Context, project ProjectRecord, rec LogRecord, res *RebuildResult) error {
	err := applyRecord(ctx, project, rec)
	var permanent *PermanentError
	switch {
	case err == nil:
		res.Events++
	case errors.As(err, &permanent):
		res.Skipped++
	default:
		return fmt.Errorf("fold record %d: %w", rec.Position, err)
	}
	return nil
}

// applyRecord is project.Handle with a panic turned into a PermanentError,
// as the live projection sets aside a record whose fold panics.
func applyRecord(ctx context.Context, project ProjectRecord, rec LogRecord) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PermanentError{Err: fmt.Errorf("record %d: panic: %v", rec.Position, r)}
		}
	}()
	return project.Handle(ctx, rec)
}

// discardOutbox is the rebuild's outbox: leads decided "send" were queued
// by the live projection when it first folded them, so nothing is queued
// again, and nothing is sent.
type discardOutbox struct{}

func (discardOutbox) Enqueue(context.Context, Lead) error { return nil }
