package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// serveDebug exposes the Go profiler on its own address (CTJ_DEBUG_ADDR),
// never on the API's, so that profiles are opt-in and not public.
func serveDebug(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		log.Info("profiler listening", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Warn("profiler stopped", "err", err)
		}
	}()
}
