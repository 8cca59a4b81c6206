package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

func TestProbeDeadlock(t *testing.T) {
	db, _ := pgtest.NewDatabase(t)
	log := postgres.NewEventLog(db)
	for round := range 20 {
		var events []domain.CallEvent
		for i := range 200 {
			events = append(events, storetest.Ordered(fmt.Sprintf("o-%d-%d", round, i), "w-1"))
		}
		rev := make([]domain.CallEvent, len(events))
		for i := range events {
			rev[len(events)-1-i] = events[i]
		}
		b1, b2 := storetest.Batch(t, events...), storetest.Batch(t, rev...)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, b := range [][]app.NewEvent{b1, b2, b1, b2} {
			wg.Go(func() {
				<-start
				if _, err := log.Append(context.Background(), b); err != nil {
					t.Error(round, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
}
