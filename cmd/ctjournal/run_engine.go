package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// engine is what serve runs once its store is open, on either store: the
// HTTP API, the projection's router, the broker consumers and the store's
// background loops, until a signal or a failure stops them.
type engine struct {
	log       *slog.Logger
	store     string // named in the log
	listener  net.Listener
	http      *http.Server
	router    *message.Router
	consumers brokerConsumers
	// loops starts the store's background loops (projection watch,
	// delivery, notifications) on wg; they end with ctx.
	loops func(ctx context.Context, wg *sync.WaitGroup)
}

// run serves until ctx ends or a part fails. Stopping finishes requests in
// flight, then tries in flight, then stops the projection between
// transactions.
func (e engine) run(ctx context.Context) error {
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	e.loops(background, &wg)
	brokersFailed := make(chan error, len(e.consumers))
	e.consumers.run(background, &wg, brokersFailed)
	routerDone := make(chan error, 1)
	go func() { routerDone <- e.router.Run(background) }()
	// A router closed before its handlers run waits for them until its
	// close timeout, so a stop right after the start waits for this.
	select {
	case <-e.router.Running():
	case err := <-routerDone:
		stopBackground()
		wg.Wait()
		return fmt.Errorf("projection did not start: %w", err)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- e.http.Serve(e.listener) }()
	e.log.Info("ctjournal serving", "addr", e.listener.Addr().String(), "version", version, "pid", os.Getpid(), "store", e.store)

	var runErr error
	select {
	case <-ctx.Done():
		e.log.Info("stopping: finishing requests and tries in flight")
	case runErr = <-httpDone:
	case runErr = <-routerDone:
		runErr = fmt.Errorf("projection stopped: %w", runErr)
	case runErr = <-brokersFailed:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.http.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("http shutdown: %w", err))
	}
	stopBackground()
	wg.Wait()
	if err := e.router.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("projection shutdown: %w", err))
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	e.log.Info("stopped", "err", runErr)
	return runErr
}
