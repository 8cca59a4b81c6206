package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// progressInterval spaces the plain progress lines written when stderr is
// not a terminal.
const progressInterval = 2 * time.Second

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
	progress := newRebuildProgress(env.Stderr, progressInterval)
	defer progress.Close()
	res, err := a.Commands.RebuildReadModels.Handle(ctx, progress)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return errors.New("interrupted: the read models were left as they were")
		}
		return fmt.Errorf("%w (the read models were left as they were)", err)
	}
	progress.Close()
	if res.Skipped > 0 {
		fmt.Fprintf(env.Stderr, "rebuild: skipped %d malformed log records, as the projection did\n", res.Skipped)
	}
	fmt.Fprintf(env.Stdout, "rebuilt %d events in %s (%.0f events/s)\n", res.Events, res.Duration.Round(time.Millisecond), res.Rate())
	return nil
}
