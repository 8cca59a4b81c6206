package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"time"
)

// progressInterval spaces the plain progress lines written when stderr is
// not a terminal.
const progressInterval = 2 * time.Second

// rebuildMemoryLimit is the Go heap's soft ceiling during a rebuild. The
// heap reaches it (the rebuild's live heap times GOGC's growth is larger),
// so it, with the binary's own pages, sets the process's resident size.
const rebuildMemoryLimit = 136 << 20

var rebuildCommand = command{
	name:    "rebuild",
	usage:   []string{"rebuild"},
	summary: "recreate the read models from the log; never sends",
	about: `Drops and rebuilds the read models from the event log, showing progress,
and ends with the events per second it reached. Never sends to Calltouch;
safe while serve runs and to interrupt (the read models are then left as
they were).`,
	flags: func(*flag.FlagSet) action { return rebuild },
}

func rebuild(ctx context.Context, args []string, env Env) error {
	if err := noArguments(args); err != nil {
		return err
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
