package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"ctjournal/ports/httpapi"
)

// debugWriteTimeout bounds a profiler answer; pprof refuses a profile or
// trace asked for longer than this.
const debugWriteTimeout = 5 * time.Minute

// serveDebug exposes the Go profiler on its own address (CTJ_DEBUG_ADDR),
// never on the API's, so that profiles are opt-in and not public. It keeps
// the API's HTTP limits, but for the time an answer may take.
func serveDebug(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	limits := httpapi.DefaultLimits
	limits.Write = debugWriteTimeout
	srv := httpapi.NewServer(mux, limits)
	srv.Addr = addr
	go func() {
		log.Info("profiler listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil {
			log.Warn("profiler stopped", "err", err)
		}
	}()
}
