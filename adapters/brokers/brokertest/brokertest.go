// Package brokertest helps test the broker consumers against the real
// brokers: an ingest that records what it is given, and waits.
package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"ctjournal/adapters/brokers"
	"ctjournal/app"
)

// WaitLimit bounds every wait; generous, for a busy machine.
const WaitLimit = 60 * time.Second

// Ingest records every body it is given. Decide, when set, says what
// becomes of one; by default every body is stored as one new event.
type Ingest struct {
	Decide func(body []byte, call int) (app.IngestOutcome, error)

	mu      sync.Mutex
	calls   int
	bodies  []string
	results []app.IngestResult
}

func (in *Ingest) Handle(_ context.Context, body []byte) (app.IngestOutcome, error) {
	in.mu.Lock()
	in.calls++
	call := in.calls
	in.bodies = append(in.bodies, string(body))
	in.mu.Unlock()
	if in.Decide != nil {
		return in.Decide(body, call)
	}
	return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
}

// Bodies is every body handled so far, in order, repeats included.
// StoreDownFor is an ingest whose store is unavailable for the first
// calls calls, then stores each body as one new event.
func StoreDownFor(calls int) *Ingest {
	return &Ingest{Decide: func(_ []byte, call int) (app.IngestOutcome, error) {
		if call <= calls {
			return app.IngestOutcome{}, fmt.Errorf("%w: down", app.ErrUnavailable)
		}
		return app.IngestOutcome{Stored: app.AppendResult{Accepted: 1}}, nil
	}}
}

func (in *Ingest) Bodies() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.bodies...)
}

// Observe records an outcome counted by the consumer.
func (in *Ingest) Observe(o app.IngestOutcome) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.results = append(in.results, o.Result())
}

// Counted is every outcome counted so far.
func (in *Ingest) Counted() []app.IngestResult {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]app.IngestResult(nil), in.results...)
}

// Deps wires in into a consumer.
func (in *Ingest) Deps() brokers.Deps {
	return brokers.Deps{Ingest: in, Observe: in.Observe, Logger: watermill.NopLogger{}}
}

// Run runs c until the test ends, once it has subscribed.
func Run(t *testing.T, c *brokers.Consumer) {
	t.Helper()
	t.Cleanup(Start(t, c))
}

// Start runs c and waits until it has subscribed; stop stops it.
func Start(t *testing.T, c *brokers.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consumer: %v", err)
			}
		})
	}
	Eventually(t, "the consumer subscribed", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("consumer stopped: %v", err)
		default:
		}
		return c.Ready() == nil
	})
	return stop
}

// Eventually waits until cond holds, or fails the test naming what.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log discards what consumers log.
func Log() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Name is a fresh name for a test's stream, subjects or queues.
func Name() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
