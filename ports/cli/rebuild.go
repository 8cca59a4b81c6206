package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"
)

// progressInterval spaces the plain progress lines written when stderr is
// not a terminal.
const progressInterval = 2 * time.Second

// rebuildMemoryLimit is the Go heap's soft ceiling during a rebuild.
const rebuildMemoryLimit = 150 << 20

func rebuild(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"takes no arguments"}
	}
	a, closeStore, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	// The rebuild keeps a bounded set of orders in memory and allocates
	// briskly: let the heap grow further between collections, within a
	// ceiling that keeps the process small.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(rebuildMemoryLimit))
	progress := newRebuildProgress(env.Stderr, progressInterval)
	defer progress.Close()
	res, err := a.Commands.RebuildReadModels.Handle(ctx, progress)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted: the read models were left as they were")
		}
		return fmt.Errorf("%w (the read models were left as they were)", err)
	}
	progress.Close()
	if res.Skipped > 0 {
		fmt.Fprintf(env.Stderr, "rebuild: set aside %d log records the projection cannot apply, as it did (ctjournal quarantine)\n", res.Skipped)
	}
	fmt.Fprintf(env.Stdout, "rebuilt %d events in %s (%.0f events/s)\n", res.Events, res.Duration.Round(time.Millisecond), res.Rate())
	return nil
}
