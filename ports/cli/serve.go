package cli

import (
	"context"
	"flag"
)

var serveCommand = command{
	name:    "serve",
	usage:   []string{"serve"},
	summary: "run the engine: HTTP API, projection, delivery",
	about: `Runs the engine until SIGINT or SIGTERM, then finishes the requests and
tries in flight and stops. Configuration is read from the environment
(see the README).`,
	flags: func(*flag.FlagSet) action {
		return func(ctx context.Context, args []string, env Env) error {
			if err := noArguments(args); err != nil {
				return err
			}
			return env.Serve(ctx)
		}
	},
}
