// Command ctjournal is the engine's one binary: see ports/cli for its
// subcommands and config.go for its environment.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"ctjournal/app"
	"ctjournal/ports/cli"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	os.Exit(run())
}

func run() int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log) // the adapters' occasional warnings, in the same format
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var cfg Config // read by Configure, once help, version and flags are dealt with
	return cli.Run(ctx, os.Args[1:], cli.Env{
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
		Configure: func() error {
			var err error
			if cfg, err = LoadConfig(os.Getenv); err != nil {
				return err
			}
			serveDebug(cfg.DebugAddr, log) // any command, so that a rebuild can be profiled too
			return nil
		},
		Serve: func(ctx context.Context) error { return serve(ctx, cfg, log) },
		Open:  func(ctx context.Context) (app.Application, func(), error) { return openApp(ctx, cfg, log) },
		CopyStore: func(ctx context.Context, to string) (app.CopyStore, func(), error) {
			return openCopy(ctx, cfg, log, to)
		},
	})
}
