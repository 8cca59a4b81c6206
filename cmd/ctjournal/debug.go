package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"

	"ctjournal/ports/httpapi"
)

// serveDebug exposes the Go profiler on its own address (CTJ_DEBUG_ADDR),
// never on the API's, so that profiles are opt-in and not public. It keeps
// the API's HTTP limits; pprof lengthens the write deadline of a profile or
// trace by the time asked for.
func serveDebug(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := httpapi.NewServer(mux, httpapi.DefaultLimits)
	srv.Addr = addr
	go func() {
		log.Info("profiler listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil {
			log.Warn("profiler stopped", "err", err)
		}
	}()
}
