package main

import (
	"log/slog"
	"net/http"

	"ctjournal/app"
	"ctjournal/ports/console"
)

// withConsole serves the support console at /ui/ and api everywhere else.
func withConsole(api http.Handler, a app.Application, cfg console.Config) http.Handler {
	routes := http.NewServeMux()
	routes.Handle("/", api)
	routes.Handle("/ui/", console.Handler(a, cfg))
	return routes
}

// consoleConfig is the console's part of the configuration.
func consoleConfig(cfg Config, log *slog.Logger, consumers brokerConsumers) console.Config {
	return console.Config{AdminToken: cfg.AdminToken, Brokers: consumers.status, Log: log.With("part", "console")}
}
