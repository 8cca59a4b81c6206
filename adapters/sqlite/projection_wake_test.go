package sqlite

import (
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// After an empty poll the projection waits for an append of this process
// to commit, not for the poll interval; after a batch it polls at once,
// after an error it waits the retry interval.
func TestWakeBackoff_AnAppendWakesTheProjection(t *testing.T) {
	wake := make(chan struct{}, 1)
	b := wakeBackoff{BackoffManager: wsql.NewDefaultBackoffManager(time.Hour, time.Minute), wake: wake, poll: time.Hour}
	logger := watermill.NopLogger{}

	if got := b.HandleError(logger, false, nil); got != 0 {
		t.Fatalf("after a batch: wait %v, want none", got)
	}
	if got := b.HandleError(logger, false, errors.New("disk I/O error")); got != time.Minute {
		t.Fatalf("after an error: wait %v, want the retry interval", got)
	}
	poke(wake)
	if got := b.HandleError(logger, true, nil); got != 0 {
		t.Fatalf("after an empty poll and a wake-up: wait %v more, want none", got)
	}
}
