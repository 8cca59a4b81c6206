package queue_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/queue"
)

// Two serves on one database share each site's rate: the slots they take,
// together, lie at least an interval apart, and another site's slots are
// its own.
func TestSiteRate_SpacesASitesRequestsAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, databaseURL := pgtest.NewDatabase(t)
	second, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	const rps, interval = 20, 50 * time.Millisecond
	serves := []*queue.SiteRate{queue.NewSiteRate(db, rps), queue.NewSiteRate(second, rps)}

	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			slot, _, err := queue.TakeSiteSlot(ctx, serves[i%2], "site-a")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			slots = append(slots, slot)
		})
	}
	wg.Wait()

	slices.SortFunc(slots, time.Time.Compare)
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval {
			t.Errorf("slots %d and %d of site-a are %s apart, want at least %s", i-1, i, gap, interval)
		}
	}
	slot, wait, err := queue.TakeSiteSlot(ctx, serves[1], "site-b")
	if err != nil {
		t.Fatal(err)
	}
	if wait != 0 || !slot.Before(slots[len(slots)-1]) {
		t.Errorf("site-b's first slot waits %s, at %s, behind site-a's last at %s", wait, slot, slots[len(slots)-1])
	}
}

// A waiter whose context ends stops waiting with its error; with no limit,
// nothing is asked of the database at all.
func TestSiteRate_WaitEndsWithItsContext_AndNoLimitAsksNothing(t *testing.T) {
	t.Parallel()
	db, _ := pgtest.NewDatabase(t)
	rate := queue.NewSiteRate(db, 1)
	for range 3 { // the next slot is some seconds away
		if _, _, err := queue.TakeSiteSlot(context.Background(), rate, "site"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rate.Wait(ctx, "site"); err == nil {
		t.Error("Wait returned nil although its context ended before the slot")
	}

	if err := queue.NewSiteRate(nil, 0).Wait(context.Background(), "site"); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
