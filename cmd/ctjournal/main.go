// Command ctjournal is the engine's one binary: see ports/cli for its
// subcommands and config.go for its environment.
package main

import (
	"context"
	"fmt"
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
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctjournal: configuration:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)           // the adapters' occasional warnings, in the same format
	serveDebug(cfg.DebugAddr, log) // any command, so that a rebuild can be profiled too
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, os.Args[1:], cli.Env{
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Serve:  func(ctx context.Context) error { return serve(ctx, cfg, log) },
		Open:   func(ctx context.Context) (app.Application, func(), error) { return openApp(ctx, cfg, log) },
	})
}
