package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
)

func TestProjectionLogger_DropsWhatTheLevelDropsAndKeepsFieldsOnErrors(t *testing.T) {
	var out bytes.Buffer
	log := projectionLogger(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))).
		With(watermill.LogFields{"handler": "projection"}).With(watermill.LogFields{"message_uuid": "m-1"})
	log.Trace("received", nil)
	log.Debug("acked", nil)
	log.Info("subscribing", nil) // watermill's Info is our Debug
	if out.Len() != 0 {
		t.Fatalf("lines below the level were written: %s", out.String())
	}
	log.Error("handler failed", errors.New("boom"), watermill.LogFields{"try": 2})
	line := out.String()
	for _, want := range []string{`"msg":"handler failed"`, `"handler":"projection"`, `"message_uuid":"m-1"`, `"try":2`, `boom`} {
		if !strings.Contains(line, want) {
			t.Errorf("error line %s lacks %s", line, want)
		}
	}
}

func TestProjectionLogger_PassesDebugWhenEnabled(t *testing.T) {
	var out bytes.Buffer
	log := projectionLogger(slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: watermill.LevelTrace})))
	log.With(watermill.LogFields{"k": "v"}).Info("subscribing", nil)
	log.Trace("received", nil)
	if got := strings.Count(out.String(), "\n"); got != 2 || !strings.Contains(out.String(), `"k":"v"`) {
		t.Fatalf("want the info (as debug, with its field) and the trace line, got %d lines: %s", got, out.String())
	}
}
