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

// DeliveryStore is a store's delivery side: the outbox the projection
// fills and the queue the delivery worker drains.
type DeliveryStore struct {
	Queue  app.DeliveryQueue
	Outbox app.Outbox
}

// giveUpAfter is the outbox's deadline in the delivery checks: a lead
// queued at T0 is given up at T0+giveUpAfter.
const giveUpAfter = time.Hour

// RunDeliveryQueue checks an app.DeliveryQueue fed through its app.Outbox:
// claims hand a lead to one live owner only and lapse with their lease;
// RecordTry moves a lead to delivered, failed or pending again and frees
// it; GiveUpExpired fails leads past their deadline; Redeliver requeues only
// a failed lead; Release frees a claim. newStore must build an outbox whose
// leads are given up giveUpAfter after their decision.
func RunDeliveryQueue(t *testing.T, newStore func(t *testing.T, giveUpAfter time.Duration) DeliveryStore) {
	parallel(t, func(t *testing.T) DeliveryStore { return newStore(t, giveUpAfter) }, []check[DeliveryStore]{
		{"ClaimHandsOutAQueuedLeadAsQueued", claimReturnsLead},
		{"OutboxQueuesAKeyOnce", outboxQueuesKeyOnce},
		{"ClaimTakesOnlyDueLeadsUpToTheLimit", claimDueLeadsUpToLimit},
		{"LiveClaimIsNotHandedOutAgain", claimLiveIsExclusive},
		{"LapsedClaimGoesToAnotherOwner", claimLapsedGoesToAnother},
		{"ConcurrentClaimsTakeEachLeadOnce", claimConcurrently},
		{"ReleaseFreesOnlyTheOwnersClaim", releaseFreesClaim},
		{"DeliveredTryEndsTheLead", tryDelivered},
		{"RefusedTryFailsTheLead", tryRefused},
		{"TransientTryRetriesAtTheNextAttempt", tryTransient},
		{"StaleOwnersTryLeavesTheNewClaim", tryByStaleOwner},
		{"DeliveredTryLandsAfterAGiveUp", tryDeliveredAfterGiveUp},
		{"GiveUpFailsUnclaimedLeadsPastDeadline", giveUpExpired},
		{"RedeliverRequeuesOnlyAFailedLead", redeliverFailedOnly},
	})
}

// newLead is a lead decided at decidedAt for order ord, attempt 1.
func newLead(ord string, decidedAt time.Time) app.Lead {
	key := domain.LeadKey(ord + "~1")
	return app.Lead{
		Key: key, OrderID: ord, WidgetID: "w-1", DecidedAt: decidedAt,
		Payload: domain.Payload{PhoneNumber: "79161234567", RequestNumber: string(key), Comment: "CallKeeper", SessionID: "ct-s-1"},
	}
}

func enqueue(t *testing.T, s DeliveryStore, leads ...app.Lead) {
	t.Helper()
	for _, l := range leads {
		if err := s.Outbox.Enqueue(context.Background(), l); err != nil {
			t.Fatalf("enqueue %s: %v", l.Key, err)
		}
	}
}

func claim(t *testing.T, s DeliveryStore, owner string, now time.Time, limit int) []app.ClaimedLead {
	t.Helper()
	leads, err := s.Queue.Claim(context.Background(), owner, now, now.Add(time.Minute), limit)
	if err != nil {
		t.Fatalf("claim by %s at %s: %v", owner, now.Format(time.TimeOnly), err)
	}
	return leads
}

func keysOf(leads []app.ClaimedLead) []string {
	keys := make([]string, len(leads))
	for i, l := range leads {
		keys[i] = string(l.Key)
	}
	slices.Sort(keys)
	return keys
}

// claimOne fails unless the claim hands out exactly the lead key.
func claimOne(t *testing.T, s DeliveryStore, owner string, now time.Time, key domain.LeadKey) app.ClaimedLead {
	t.Helper()
	leads := claim(t, s, owner, now, 10)
	if len(leads) != 1 || leads[0].Key != key {
		t.Fatalf("claim by %s handed out %v, want [%s]", owner, keysOf(leads), key)
	}
	return leads[0]
}

func claimNone(t *testing.T, s DeliveryStore, owner string, now time.Time) {
	t.Helper()
	if leads := claim(t, s, owner, now, 10); len(leads) != 0 {
		t.Fatalf("claim by %s handed out %v, want nothing", owner, keysOf(leads))
	}
}

// tried is the record of one try of l at at that got HTTP status.
func tried(l app.ClaimedLead, status int, at time.Time) app.DeliveryTried {
	return app.DeliveryTried{
		Type: app.TypeDeliveryTried, Key: l.Key, OrderID: l.OrderID, WidgetID: l.WidgetID,
		Try: l.Tries + 1, At: at, DurationMS: 84, HTTPStatus: status,
		Response: fmt.Sprintf(`{"status":%d}`, status), Outcome: domain.ClassifyTry(status),
	}
}

func recordTry(t *testing.T, s DeliveryStore, owner string, try app.DeliveryTried, next time.Time) {
	t.Helper()
	if err := s.Queue.RecordTry(context.Background(), owner, try, next); err != nil {
		t.Fatalf("record try %d of %s: %v", try.Try, try.Key, err)
	}
}

func redeliver(s DeliveryStore, key domain.LeadKey, now time.Time) error {
	return s.Queue.Redeliver(context.Background(), key, now, now.Add(giveUpAfter))
}

func wantStateError(t *testing.T, err error, what string) {
	t.Helper()
	var state *app.StateError
	if !errors.As(err, &state) {
		t.Fatalf("redeliver %s: got %v, want *app.StateError", what, err)
	}
}

func claimReturnsLead(t *testing.T, s DeliveryStore) {
	want := newLead("o-1", T0)
	enqueue(t, s, want)
	got := claimOne(t, s, "worker-a", T0, want.Key)
	if got.OrderID != want.OrderID || got.WidgetID != want.WidgetID || got.Payload != want.Payload ||
		!got.DecidedAt.Equal(want.DecidedAt) || got.Tries != 0 || !got.DeadlineAt.Equal(T0.Add(giveUpAfter)) {
		t.Fatalf("claimed %+v, want %+v with no tries and deadline %s", got, want, T0.Add(giveUpAfter))
	}
}

func outboxQueuesKeyOnce(t *testing.T, s DeliveryStore) {
	first := newLead("o-1", T0)
	again := first
	again.Payload.Comment = "CallKeeper, again"
	again.DecidedAt = T0.Add(time.Minute)
	enqueue(t, s, first, again)
	got := claimOne(t, s, "worker-a", T0.Add(time.Minute), first.Key)
	if got.Payload != first.Payload || !got.DecidedAt.Equal(first.DecidedAt) {
		t.Fatalf("queued lead is %+v, want the first one %+v", got, first)
	}
}

func claimDueLeadsUpToLimit(t *testing.T, s DeliveryStore) {
	for i := range 5 {
		enqueue(t, s, newLead(fmt.Sprintf("o-%d", i), T0))
	}
	enqueue(t, s, newLead("o-later", T0.Add(10*time.Minute)))
	var got []string
	for _, want := range []int{2, 2, 1, 0} {
		leads := claim(t, s, "worker-a", T0, 2)
		if len(leads) != want {
			t.Fatalf("claim of up to 2 handed out %v, want %d leads", keysOf(leads), want)
		}
		got = append(got, keysOf(leads)...)
	}
	slices.Sort(got)
	if want := []string{"o-0~1", "o-1~1", "o-2~1", "o-3~1", "o-4~1"}; !slices.Equal(got, want) {
		t.Fatalf("claims handed out %v, want %v", got, want)
	}
	// Later, o-later is due and the first claims have lapsed.
	later := claim(t, s, "worker-a", T0.Add(10*time.Minute), 10)
	if want := []string{"o-0~1", "o-1~1", "o-2~1", "o-3~1", "o-4~1", "o-later~1"}; !slices.Equal(keysOf(later), want) {
		t.Fatalf("later claim handed out %v, want %v", keysOf(later), want)
	}
}

func claimLiveIsExclusive(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	claimOne(t, s, "worker-a", T0, "o-1~1")
	claimNone(t, s, "worker-b", T0.Add(30*time.Second))
	claimNone(t, s, "worker-a", T0.Add(30*time.Second))
}

func claimLapsedGoesToAnother(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	claimOne(t, s, "worker-a", T0, "o-1~1") // lease until T0+1m
	claimOne(t, s, "worker-b", T0.Add(2*time.Minute), "o-1~1")
	claimNone(t, s, "worker-a", T0.Add(2*time.Minute))
}

func claimConcurrently(t *testing.T, s DeliveryStore) {
	const leads, workers = 60, 12
	for i := range leads {
		enqueue(t, s, newLead(fmt.Sprintf("o-%02d", i), T0))
	}
	claimed := make([][]string, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for {
				got, err := s.Queue.Claim(context.Background(), fmt.Sprintf("worker-%d", w), T0, T0.Add(time.Hour), 3)
				if err != nil || len(got) == 0 {
					errs[w] = err
					return
				}
				claimed[w] = append(claimed[w], keysOf(got)...)
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent claims: %v", err)
	}
	owner := map[string]int{}
	for w, keys := range claimed {
		for _, k := range keys {
			if prev, twice := owner[k]; twice {
				t.Errorf("lead %s handed to worker %d and worker %d", k, prev, w)
			}
			owner[k] = w
		}
	}
	if len(owner) != leads {
		t.Fatalf("%d of %d leads were claimed", len(owner), leads)
	}
}

func releaseFreesClaim(t *testing.T, s DeliveryStore) {
	ctx := context.Background()
	enqueue(t, s, newLead("o-1", T0))
	claimOne(t, s, "worker-a", T0, "o-1~1")
	if err := s.Queue.Release(ctx, "worker-b", "o-1~1"); err != nil {
		t.Fatalf("release by another owner: %v", err)
	}
	claimNone(t, s, "worker-c", T0)
	if err := s.Queue.Release(ctx, "worker-a", "o-1~1"); err != nil {
		t.Fatalf("release: %v", err)
	}
	got := claimOne(t, s, "worker-c", T0, "o-1~1")
	if got.Tries != 0 {
		t.Fatalf("a released lead counts %d tries, want 0", got.Tries)
	}
}

func tryDelivered(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	l := claimOne(t, s, "worker-a", T0, "o-1~1")
	recordTry(t, s, "worker-a", tried(l, 200, T0.Add(time.Second)), T0.Add(time.Second))
	claimNone(t, s, "worker-b", T0.Add(2*time.Second))
	if n, err := s.Queue.GiveUpExpired(context.Background(), T0.Add(2*giveUpAfter)); err != nil || n != 0 {
		t.Fatalf("give up after delivery: %d, %v; want 0", n, err)
	}
	wantStateError(t, redeliver(s, l.Key, T0.Add(2*giveUpAfter)), "a delivered lead")
}

func tryRefused(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	l := claimOne(t, s, "worker-a", T0, "o-1~1")
	recordTry(t, s, "worker-a", tried(l, 400, T0.Add(time.Second)), T0.Add(time.Second))
	claimNone(t, s, "worker-b", T0.Add(time.Minute))
	if n, err := s.Queue.GiveUpExpired(context.Background(), T0.Add(2*giveUpAfter)); err != nil || n != 0 {
		t.Fatalf("give up after a refusal: %d, %v; want 0", n, err)
	}
	if err := redeliver(s, l.Key, T0.Add(time.Minute)); err != nil {
		t.Fatalf("redeliver a refused lead: %v", err)
	}
}

func tryTransient(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	l := claimOne(t, s, "worker-a", T0, "o-1~1")
	next := T0.Add(20 * time.Second) // before worker-a's lease ends: the try released it
	recordTry(t, s, "worker-a", tried(l, 503, T0.Add(time.Second)), next)
	claimNone(t, s, "worker-b", next.Add(-time.Second))
	wantStateError(t, redeliver(s, l.Key, next), "a pending lead")
	again := claimOne(t, s, "worker-b", next, "o-1~1")
	if again.Tries != 1 || again.Payload != l.Payload {
		t.Fatalf("retry claimed with %d tries and %+v, want 1 try and the same payload", again.Tries, again.Payload)
	}
}

// A worker whose lease lapsed mid-try still records its try, but the lead
// now belongs to another worker's live claim: the record must not free it
// for a third.
func tryByStaleOwner(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	stale := claimOne(t, s, "worker-a", T0, "o-1~1")           // lease until T0+1m
	claimOne(t, s, "worker-b", T0.Add(2*time.Minute), "o-1~1") // lease until T0+3m
	at := T0.Add(2*time.Minute + time.Second)
	recordTry(t, s, "worker-a", tried(stale, 503, at), at)
	claimNone(t, s, "worker-c", at.Add(time.Second))
}

// A try can outlive its lease and the lead's deadline; once Calltouch took
// the lead it is delivered, and must never be sent again.
func tryDeliveredAfterGiveUp(t *testing.T, s DeliveryStore) {
	enqueue(t, s, newLead("o-1", T0))
	l := claimOne(t, s, "worker-a", T0.Add(giveUpAfter-10*time.Second), "o-1~1")
	past := T0.Add(giveUpAfter + 2*time.Minute)
	if n, err := s.Queue.GiveUpExpired(context.Background(), past); err != nil || n != 1 {
		t.Fatalf("give up: %d, %v; want 1", n, err)
	}
	recordTry(t, s, "worker-a", tried(l, 200, past), past)
	wantStateError(t, redeliver(s, l.Key, past.Add(time.Minute)), "a lead delivered after its give-up")
}

func giveUpExpired(t *testing.T, s DeliveryStore) {
	ctx := context.Background()
	deadline := T0.Add(giveUpAfter) // of o-claimed; o-old's is a second later
	enqueue(t, s, newLead("o-claimed", T0), newLead("o-old", T0.Add(time.Second)), newLead("o-new", T0.Add(30*time.Minute)))
	if got := claim(t, s, "worker-a", deadline.Add(-30*time.Second), 1); len(got) != 1 || got[0].Key != "o-claimed~1" {
		t.Fatalf("claim of the longest due lead handed out %v, want [o-claimed~1]", keysOf(got))
	} // held until deadline+30s
	if n, err := s.Queue.GiveUpExpired(ctx, deadline.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("give up before the deadlines: %d, %v; want 0", n, err)
	}
	if n, err := s.Queue.GiveUpExpired(ctx, deadline.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("give up past the deadlines: %d, %v; want 1 (o-old; o-claimed is held)", n, err)
	}
	if n, err := s.Queue.GiveUpExpired(ctx, deadline.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("give up once the claim lapsed: %d, %v; want 1 (o-claimed)", n, err)
	}
	if n, err := s.Queue.GiveUpExpired(ctx, deadline.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("give up again: %d, %v; want 0", n, err)
	}
	claimOne(t, s, "worker-b", deadline.Add(time.Minute), "o-new~1")
	for _, key := range []domain.LeadKey{"o-old~1", "o-claimed~1"} {
		if err := redeliver(s, key, deadline.Add(2*time.Minute)); err != nil {
			t.Fatalf("redeliver given-up %s: %v", key, err)
		}
	}
}

func redeliverFailedOnly(t *testing.T, s DeliveryStore) {
	if err := redeliver(s, "o-unknown~1", T0); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("redeliver an unknown lead: got %v, want app.ErrNotFound", err)
	}
	enqueue(t, s, newLead("o-1", T0))
	wantStateError(t, redeliver(s, "o-1~1", T0), "a pending lead")
	l := claimOne(t, s, "worker-a", T0, "o-1~1")
	recordTry(t, s, "worker-a", tried(l, 404, T0.Add(time.Second)), T0.Add(time.Second))

	now := T0.Add(3 * giveUpAfter) // long past the first deadline
	if err := redeliver(s, "o-1~1", now); err != nil {
		t.Fatalf("redeliver a failed lead: %v", err)
	}
	wantStateError(t, redeliver(s, "o-1~1", now), "a lead already requeued")
	again := claimOne(t, s, "worker-b", now, "o-1~1")
	if !again.DeadlineAt.Equal(now.Add(giveUpAfter)) || again.Tries != 1 || again.Payload != l.Payload {
		t.Fatalf("requeued lead is %+v, want deadline %s, 1 try and the same payload", again, now.Add(giveUpAfter))
	}
	recordTry(t, s, "worker-b", tried(again, 200, now), now)
	wantStateError(t, redeliver(s, "o-1~1", now), "a delivered lead")
}
