package main

import "runtime/debug"

// Serve's collector settings. Its live heap is small (tens of MB) and it
// allocates briskly for every event (the body, its parse, the canonical
// JSON, the fold), so with Go's default (GOGC=100) it collected every few
// megabytes; GOGC=400 trades some peak memory for much faster ingest
// (docs/operations.md has the A/B figures). The soft ceiling keeps the
// heap bounded when it does grow: near it, the collector works harder
// again.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 256 << 20
)

// tuneGC applies serve's collector settings, except where the operator set
// Go's own GOGC or GOMEMLIMIT, which win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
