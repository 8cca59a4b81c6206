package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"ctjournal/app"
)

var copyStoreCommand = command{
	name:    "copy-store",
	usage:   []string{"copy-store --to URL"},
	summary: "copy the store into an empty PostgreSQL database",
	about: `Copies the configured store's whole log (each record's id, payload,
metadata and position, in order), each widget's policy with its token, the
orders' widgets and the quarantine into the empty PostgreSQL database at
URL, then rebuilds its read models and delivery queue from the log: pending
leads go on being delivered from there, delivered ones are never sent
again, failed ones stay failed. Shows progress; only reads the source.
Refuses a target whose log is not empty (exit 1). Run no serve on the
target until it ends; stop the source's serve first so that nothing
accepted after the copy is left behind.`,
	flags: func(fs *flag.FlagSet) action {
		to := fs.String("to", "", "PostgreSQL `URL` of the empty target (postgres://…)")
		return func(ctx context.Context, args []string, env Env) error {
			return copyStore(ctx, args, env, *to)
		}
	},
}

func copyStore(ctx context.Context, args []string, env Env, to string) error {
	if err := noArguments(args); err != nil {
		return err
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return usageError{"--to: want a PostgreSQL URL (postgres://…)"}
	}
	copier, closeStores, err := env.CopyStore(ctx, to)
	if err != nil {
		return err
	}
	defer closeStores()
	copying := newProgress(env.Stderr, progressInterval, "copy-store", "copying")
	defer copying.Close()
	rebuilding := newProgress(env.Stderr, progressInterval, "copy-store", "replaying")
	defer rebuilding.Close()
	res, err := copier.Handle(ctx, copying, rebuilding)
	var state *app.StateError
	switch {
	case errors.As(err, &state):
		return err
	case err != nil && ctx.Err() != nil:
		return errors.New("interrupted: the target was emptied again")
	case err != nil:
		return fmt.Errorf("%w (the target was emptied again; the source is as it was)", err)
	}
	copying.Close()
	rebuilding.Close()
	var leads []string
	for _, status := range slices.Sorted(maps.Keys(res.Leads)) {
		leads = append(leads, fmt.Sprintf("%d %s", res.Leads[status], status))
	}
	if len(leads) == 0 {
		leads = []string{"none"}
	}
	fmt.Fprintf(env.Stdout, "copied %d log records, %d policies, %d orders' widgets, %d quarantined records in %s; leads queued: %s\n",
		res.Records, res.Policies, res.Orders, res.Quarantined, res.Duration.Round(time.Millisecond), strings.Join(leads, ", "))
	return nil
}
