package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// With the filters of seen ids filled, appends are judged as without
// them: what another process appended meanwhile, and what this one did
// outside a group commit, is known as a duplicate or a conflict, and new
// ids are no longer looked up.
func TestSeenIDs_AppendsJudgedAsWithoutThem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log := s.Ports().EventLog
	first := storetest.Ordered("o-1", "w-1")
	if _, err := log.Append(ctx, storetest.Batch(t, first)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { s.seen.mu.Lock(); defer s.seen.mu.Unlock(); return s.seen.events != nil })

	// Another process appends an order; this one appends inside a
	// transaction of its own, outside the group commit.
	other, err := Open(ctx, dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	elsewhere := storetest.Ordered("o-2", "w-1")
	if _, err := other.Ports().EventLog.Append(ctx, storetest.Batch(t, elsewhere)); err != nil {
		t.Fatal(err)
	}
	inTx := storetest.Dialed("o-3", "w-1", 1)
	err = s.inTx(ctx, func(ctx context.Context, _ *sql.Tx) error {
		_, err := log.Append(ctx, storetest.Batch(t, inTx))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name     string
		events   []app.NewEvent
		accepted int
		conflict bool
	}{
		{"the first event again", storetest.Batch(t, first), 0, false},
		{"the other process's event again", storetest.Batch(t, elsewhere), 0, false},
		{"the event appended in a transaction again", storetest.Batch(t, inTx), 0, false},
		{"the other process's order under another widget", storetest.Batch(t, storetest.Dialed("o-2", "w-2", 1)), 0, true},
		{"the order tied in a transaction under another widget", storetest.Batch(t, storetest.Dialed("o-3", "w-2", 2)), 0, true},
		{"the first order under another widget", storetest.Batch(t, storetest.Dialed("o-1", "w-2", 1)), 0, true},
		{"a new event", storetest.Batch(t, storetest.Dialed("o-1", "w-1", 1)), 1, false},
	} {
		res, err := log.Append(ctx, c.events)
		var conflict *app.ConflictError
		switch {
		case c.conflict && !errors.As(err, &conflict):
			t.Errorf("%s: %+v, %v; want a conflict", c.name, res, err)
		case !c.conflict && (err != nil || res.Accepted != c.accepted):
			t.Errorf("%s: %+v, %v; want %d stored", c.name, res, err, c.accepted)
		}
	}

	// The filters now hold the whole log, and a group commit keeps them so
	// without reading the log back.
	fresh := storetest.Ordered("o-9", "w-1")
	if res, err := log.Append(ctx, storetest.Batch(t, fresh)); err != nil || res.Accepted != 1 {
		t.Fatalf("a new order: %+v, %v", res, err)
	}
	last, err := lastOffset(ctx, s.read)
	if err != nil {
		t.Fatal(err)
	}
	s.seen.mu.Lock()
	synced := s.seen.synced
	s.seen.mu.Unlock()
	if synced != last {
		t.Fatalf("after a group commit the filters hold the log up to %d, want %d", synced, last)
	}
	if res, err := log.Append(ctx, storetest.Batch(t, fresh)); err != nil || res.Duplicates != 1 {
		t.Fatalf("the new order's event again: %+v, %v; want a duplicate", res, err)
	}
	var conflict *app.ConflictError
	if _, err := log.Append(ctx, storetest.Batch(t, storetest.Dialed("o-9", "w-2", 1))); !errors.As(err, &conflict) {
		t.Fatalf("the new order under another widget: %v, want a conflict", err)
	}

	ids := make([]any, 100)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	maybe, _ := s.seen.maybe(ctx, tx, last, ids, nil)
	if len(maybe) > 10 {
		t.Fatalf("of 100 new ids the filters may hold %d, want few", len(maybe))
	}
}

// Filters that outgrow what they were sized for are dropped, every id is
// looked up meanwhile, and the next append fills them afresh.
func TestSeenIDs_OutgrownFiltersAreFilledAfresh(t *testing.T) {
	ctx := context.Background()
	s, log := openAppendStore(t)
	filled := func() bool { s.seen.mu.Lock(); defer s.seen.mu.Unlock(); return s.seen.events != nil }
	first := storetest.Ordered("o-1", "w-1")
	if _, err := log.Append(ctx, storetest.Batch(t, first)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, filled)
	s.seen.mu.Lock()
	s.seen.events.capacity = s.seen.events.added
	s.seen.mu.Unlock()

	second := storetest.Ordered("o-2", "w-1")
	if res, err := log.Append(ctx, storetest.Batch(t, second)); err != nil || res.Accepted != 1 {
		t.Fatalf("the append past capacity: %+v, %v", res, err)
	}
	waitFor(t, func() bool { return !filled() })
	for _, e := range []domain.CallEvent{first, second} {
		if res, err := log.Append(ctx, storetest.Batch(t, e)); err != nil || res.Duplicates != 1 {
			t.Fatalf("event %s again: %+v, %v; want a duplicate", e.EventID, res, err)
		}
	}
	waitFor(t, filled)
	s.seen.mu.Lock()
	capacity := s.seen.events.capacity
	s.seen.mu.Unlock()
	if capacity < minSeenCapacity {
		t.Fatalf("the filters were filled afresh for %d ids", capacity)
	}
	for _, e := range []domain.CallEvent{first, second} {
		if res, err := log.Append(ctx, storetest.Batch(t, e)); err != nil || res.Duplicates != 1 {
			t.Fatalf("event %s again, filled afresh: %+v, %v; want a duplicate", e.EventID, res, err)
		}
	}
}
