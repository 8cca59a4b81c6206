package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// RunEventLog checks an app.EventLog: a batch is stored whole or not at
// all, a resend is recognised as duplicates, an event_id with other content
// or an order under another widget is a *app.ConflictError at the event's
// own index, and concurrent writers of the same events never fail.
func RunEventLog(t *testing.T, newLog func(t *testing.T) app.EventLog) {
	parallel(t, newLog, []check[app.EventLog]{
		{"StoresBatchAndCountsResendAsDuplicates", appendStoresBatchOnce},
		{"ResendWithNewEventsStoresOnlyTheNew", appendStoresOnlyNewEvents},
		{"ResendIsKnownWhateverTheStoredEncoding", appendRecognisesStoredContent},
		{"EmptyBatchStoresNothing", appendEmptyBatch},
		{"SameEventIDOtherContentConflictsAndStoresNothing", appendConflictingContent},
		{"ConflictNamesTheEventsOwnIndex", appendConflictUsesEventIndex},
		{"OrderOfAnotherWidgetConflictsAndStoresNothing", appendOrderOfAnotherWidget},
		{"ConcurrentResendsStoreEachEventOnce", appendConcurrentResends},
		{"ConcurrentOverlappingBatchesNeverFail", appendConcurrentOverlappingBatches},
		{"ConcurrentNewOrderTiedToOneWidgetOnly", appendConcurrentWidgetsOfNewOrder},
		{"NewOrderUnderTwoWidgetsInOneBatchConflicts", appendNewOrderUnderTwoWidgets},
		{"ConcurrentBatchesSharingNewOrdersAreAllStored", appendConcurrentSharedNewOrders},
	})
}

func appendStoresBatchOnce(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	batch := Batch(t, Ordered("o-1", "w-1"), Dialed("o-1", "w-1", 1), Answered("o-1", "w-1", 1))
	res, err := log.Append(ctx, batch)
	wantResult(t, res, err, 3, 0)
	res, err = log.Append(ctx, batch)
	wantResult(t, res, err, 0, 3)
}

func appendStoresOnlyNewEvents(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	e1, e2, e3 := Ordered("o-1", "w-1"), Dialed("o-1", "w-1", 1), Failed("o-1", "w-1", 1)
	res, err := log.Append(ctx, Batch(t, e1, e2))
	wantResult(t, res, err, 2, 0)
	res, err = log.Append(ctx, Batch(t, e1, e3, e2))
	wantResult(t, res, err, 1, 2)
}

// A store may keep an event in another encoding (JSONB reorders keys); the
// same fact must still be recognised, details, nanoseconds and time zones
// included.
func appendRecognisesStoredContent(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	e := Ordered("o-1", "w-1")
	e.OccurredAt = time.Date(2026, 11, 24, 10, 15, 0, 123456789, time.FixedZone("MSK", 3*3600))
	scheduled := time.Date(2026, 11, 25, 10, 0, 0, 1, time.UTC)
	e.Order.ScheduledAt = &scheduled
	e.Order.Details = map[string]string{"zeta": "last", "alpha": "first", "html": "<b>&amp;</b>", "emoji": "звонок ☎"}
	res, err := log.Append(ctx, Batch(t, e))
	wantResult(t, res, err, 1, 0)

	again := e
	again.OccurredAt = e.OccurredAt.UTC()
	res, err = log.Append(ctx, Batch(t, again))
	wantResult(t, res, err, 0, 1)
}

func appendEmptyBatch(t *testing.T, log app.EventLog) {
	res, err := log.Append(context.Background(), nil)
	wantResult(t, res, err, 0, 0)
}

func appendConflictingContent(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	stored := Failed("o-1", "w-1", 1)
	res, err := log.Append(ctx, Batch(t, Ordered("o-1", "w-1"), stored))
	wantResult(t, res, err, 2, 0)

	other := stored
	other.FailReason = "busy"
	before, after := Dialed("o-1", "w-1", 2), Answered("o-1", "w-1", 2)
	_, err = log.Append(ctx, Batch(t, before, other, after))
	wantConflict(t, err, 1)

	// Nothing of the refused batch was stored: both new events are new still.
	res, err = log.Append(ctx, Batch(t, before, after))
	wantResult(t, res, err, 2, 0)
}

// IngestEvents drops repeats within a request, so a batch's slice position
// and the event's index in the request differ; the conflict names the latter.
func appendConflictUsesEventIndex(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	stored := Ordered("o-1", "w-1")
	res, err := log.Append(ctx, Batch(t, stored))
	wantResult(t, res, err, 1, 0)

	other := stored
	other.Order = &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79031112233"}
	batch := Batch(t, Dialed("o-1", "w-1", 1), other)
	batch[0].Index, batch[1].Index = 3, 7
	_, err = log.Append(ctx, batch)
	wantConflict(t, err, 7)
}

func appendOrderOfAnotherWidget(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	res, err := log.Append(ctx, Batch(t, Ordered("o-1", "w-1")))
	wantResult(t, res, err, 1, 0)

	fresh := Ordered("o-2", "w-1")
	_, err = log.Append(ctx, Batch(t, fresh, Answered("o-1", "w-2", 1)))
	wantConflict(t, err, 1)

	// The refused batch tied o-2 to no widget: another widget may claim it,
	// and its event was not stored.
	res, err = log.Append(ctx, Batch(t, Answered("o-2", "w-2", 1)))
	wantResult(t, res, err, 1, 0)
	_, err = log.Append(ctx, Batch(t, fresh))
	wantConflict(t, err, 0)
}

func appendConcurrentResends(t *testing.T, log app.EventLog) {
	batch := Batch(t, Ordered("o-1", "w-1"), Dialed("o-1", "w-1", 1), Answered("o-1", "w-1", 1))
	const writers = 16
	results := concurrently(writers, func(int) (app.AppendResult, error) {
		return log.Append(context.Background(), batch)
	})
	var sum app.AppendResult
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("writer %d: %v", i, r.err)
		}
		sum.Accepted += r.res.Accepted
		sum.Duplicates += r.res.Duplicates
	}
	if sum.Accepted != 3 || sum.Duplicates != 3*(writers-1) {
		t.Fatalf("writers stored %d events and saw %d duplicates, want 3 and %d", sum.Accepted, sum.Duplicates, 3*(writers-1))
	}
}

// Writers of the same events in different orders must not deadlock each
// other into a failure: each append either stores an event or sees it. Half
// the rounds name orders the store already knows, half new ones.
func appendConcurrentOverlappingBatches(t *testing.T, log app.EventLog) {
	const writers, rounds, size = 4, 4, 150
	for round := range rounds {
		var events []domain.CallEvent
		for i := range size {
			order := fmt.Sprintf("o-%d-%d", round, i)
			if round%2 == 0 {
				events = append(events, Ordered(order, "w-1"))
				continue
			}
			if _, err := log.Append(context.Background(), Batch(t, Ordered(order, "w-1"))); err != nil {
				t.Fatalf("store order %s: %v", order, err)
			}
			events = append(events, Answered(order, "w-1", 1))
		}
		batches := make([][]app.NewEvent, writers)
		for w := range batches {
			batch := slices.Clone(events)
			if w%2 == 1 {
				slices.Reverse(batch)
			}
			batches[w] = Batch(t, batch...)
		}
		results := concurrently(writers, func(w int) (app.AppendResult, error) {
			return log.Append(context.Background(), batches[w])
		})
		accepted := 0
		for w, r := range results {
			if r.err != nil {
				t.Fatalf("round %d, writer %d: %v", round, w, r.err)
			}
			if r.res.Accepted+r.res.Duplicates != size {
				t.Errorf("round %d, writer %d: stored %d and saw %d duplicates of %d events", round, w, r.res.Accepted, r.res.Duplicates, size)
			}
			accepted += r.res.Accepted
		}
		if accepted != size {
			t.Fatalf("round %d: writers stored %d events in all, want %d", round, accepted, size)
		}
	}
}

func appendConcurrentWidgetsOfNewOrder(t *testing.T, log app.EventLog) {
	const writers = 8
	batches := make([][]app.NewEvent, writers)
	for w := range batches {
		batches[w] = Batch(t, Answered("o-1", fmt.Sprintf("w-%d", w), 1))
	}
	results := concurrently(writers, func(w int) (app.AppendResult, error) {
		return log.Append(context.Background(), batches[w])
	})
	stored := 0
	for i, r := range results {
		var conflict *app.ConflictError
		switch {
		case r.err == nil && r.res.Accepted == 1:
			stored++
		case errors.As(r.err, &conflict) && conflict.Index == 0:
		default:
			t.Errorf("writer %d: got %+v, %v; want the event stored or a conflict at index 0", i, r.res, r.err)
		}
	}
	if stored != 1 {
		t.Fatalf("%d writers tied order o-1 to their widget, want exactly 1", stored)
	}
}

type appendOutcome struct {
	res app.AppendResult
	err error
}

// concurrently runs n calls of f at once, released together, and returns
// their outcomes by caller.
func concurrently(n int, f func(i int) (app.AppendResult, error)) []appendOutcome {
	out := make([]appendOutcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i].res, out[i].err = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func appendNewOrderUnderTwoWidgets(t *testing.T, log app.EventLog) {
	ctx := context.Background()
	_, err := log.Append(ctx, Batch(t, Ordered("o-1", "w-1"), Answered("o-1", "w-2", 1)))
	wantConflict(t, err, 1)
	// Nothing was stored, the tie included.
	res, err := log.Append(ctx, Batch(t, Answered("o-1", "w-2", 1)))
	wantResult(t, res, err, 1, 0)
}

// Writers whose batches name the same new orders of the same widget, each
// with its own events: every event is stored, none refused, whoever ties
// an order first.
func appendConcurrentSharedNewOrders(t *testing.T, log app.EventLog) {
	const writers, orders = 8, 50
	batches := make([][]app.NewEvent, writers)
	for w := range batches {
		var events []domain.CallEvent
		for i := range orders {
			events = append(events, Answered(fmt.Sprintf("o-%d", i), "w-1", w+1))
		}
		batches[w] = Batch(t, events...)
	}
	results := concurrently(writers, func(w int) (app.AppendResult, error) {
		return log.Append(context.Background(), batches[w])
	})
	for w, r := range results {
		if r.err != nil || r.res.Accepted != orders {
			t.Errorf("writer %d: got %+v, %v; want all %d events stored", w, r.res, r.err, orders)
		}
	}
}
