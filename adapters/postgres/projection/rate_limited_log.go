package projection

import (
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// rateLimitedLogger lets one error line through per interval, for a loop
// that keeps failing must not flood the log; the next line that passes
// says how many were left out. Lines of other levels pass as they are.
type rateLimitedLogger struct {
	watermill.LoggerAdapter
	gate *errorGate
}

// errorGate is shared by a logger and every logger derived from it.
type errorGate struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	left     int // lines left out since the last one through
}

func newRateLimitedLogger(logger watermill.LoggerAdapter, interval time.Duration) watermill.LoggerAdapter {
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return rateLimitedLogger{LoggerAdapter: logger, gate: &errorGate{interval: interval}}
}

// pass reports whether a line may go out now, and how many were left out
// before it.
func (g *errorGate) pass(now time.Time) (bool, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.last.IsZero() && now.Sub(g.last) < g.interval {
		g.left++
		return false, 0
	}
	left := g.left
	g.last, g.left = now, 0
	return true, left
}

func (l rateLimitedLogger) Error(msg string, err error, fields watermill.LogFields) {
	ok, left := l.gate.pass(time.Now())
	if !ok {
		return
	}
	if left > 0 {
		fields = fields.Add(watermill.LogFields{"error_lines_left_out": left})
	}
	l.LoggerAdapter.Error(msg, err, fields)
}

func (l rateLimitedLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return rateLimitedLogger{LoggerAdapter: l.LoggerAdapter.With(fields), gate: l.gate}
}
