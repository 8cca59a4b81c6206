package main

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// projectionLogger adapts log for watermill, whose Info lines are our
// Debug, and drops what log would drop before it costs anything: for every
// record the projection folds, watermill adds fields to its logger and logs
// several trace and debug lines, and each slog call cloned a handler or
// grew the handler goroutine's stack.
func projectionLogger(log *slog.Logger) watermill.LoggerAdapter {
	return levelGate{
		adapter: watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}),
		log:     log,
	}
}

// levelGate passes debug, info and trace lines on only when log is enabled
// at their (mapped) level, errors always, and adds the fields given to
// With only to lines it passes on.
type levelGate struct {
	adapter watermill.LoggerAdapter
	log     *slog.Logger
	with    []watermill.LogFields
}

func (g levelGate) enabled(level slog.Level) bool { return g.log.Enabled(context.Background(), level) }

func (g levelGate) withFields() watermill.LoggerAdapter {
	a := g.adapter
	for _, f := range g.with {
		a = a.With(f)
	}
	return a
}

func (g levelGate) Error(msg string, err error, fields watermill.LogFields) {
	g.withFields().Error(msg, err, fields)
}

func (g levelGate) Info(msg string, fields watermill.LogFields) {
	if g.enabled(slog.LevelDebug) {
		g.withFields().Info(msg, fields)
	}
}

func (g levelGate) Debug(msg string, fields watermill.LogFields) {
	if g.enabled(slog.LevelDebug) {
		g.withFields().Debug(msg, fields)
	}
}

func (g levelGate) Trace(msg string, fields watermill.LogFields) {
	if g.enabled(watermill.LevelTrace) {
		g.withFields().Trace(msg, fields)
	}
}

func (g levelGate) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return levelGate{adapter: g.adapter, log: g.log, with: append(g.with[:len(g.with):len(g.with)], fields)}
}
