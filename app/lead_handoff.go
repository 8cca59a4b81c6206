package app

import (
	"context"
	"sync"
	"sync/atomic"
)

// workerState is what a delivery worker's claim rounds and hand-overs
// share.
type workerState struct {
	slots chan struct{} // tries in flight, of rounds and hand-overs alike

	mu      sync.Mutex
	running context.Context // Run's context; nil when no Run is taking hand-overs
	handing sync.WaitGroup  // hand-overs reserved and not yet finished
	// handed counts the slots hand-overs hold. They are at most a claim
	// round's batch, which the rate limit bounds: a handed-over lead waits
	// for the limit under its lease, as a claimed one does.
	handed atomic.Int32

	// unrecorded counts tries whose record waits for the store to come
	// back. While any does, the worker claims nothing: its lease may lapse
	// meanwhile, and this worker must not claim and send that lead again.
	unrecorded atomic.Int32
}

func newWorkerState(parallel int) *workerState {
	return &workerState{slots: make(chan struct{}, max(1, parallel))}
}

// Reserve takes up to n free try slots for leads the projection is about to
// queue claimed for this worker (LeadHandoff).
func (h DeliverLeads) Reserve(n int) (HandoffClaim, int) {
	w := h.state
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == nil || w.running.Err() != nil || w.unrecorded.Load() > 0 {
		return HandoffClaim{}, 0
	}
	n = min(n, h.cfg.Batch-int(w.handed.Load()))
	taken := 0
	for taken < n && w.freeSlot() {
		taken++
	}
	if taken == 0 {
		return HandoffClaim{}, 0
	}
	w.handed.Add(int32(taken))
	w.handing.Add(1)
	now := h.now()
	return HandoffClaim{Owner: h.cfg.Owner, Now: now, LeaseUntil: now.Add(h.cfg.Lease), slots: taken, stop: w.running}, taken
}

// HandOver tries the leads queued under claim, each on a slot the claim
// reserved, and frees the slots left over (LeadHandoff).
func (h DeliverLeads) HandOver(claim HandoffClaim, leads []ClaimedLead) {
	if claim.slots == 0 {
		return
	}
	w := h.state
	leads = leads[:min(len(leads), claim.slots)]
	for range claim.slots - len(leads) {
		w.freeHanded()
	}
	if len(leads) == 0 {
		w.handing.Done()
		return
	}
	ctx := context.WithoutCancel(claim.stop)
	access := &accessCache{policies: h.policies, byWidget: map[string]StoredPolicy{}}
	var tries sync.WaitGroup
	for _, lead := range leads {
		tries.Go(func() {
			defer w.freeHanded()
			h.tryLogged(claim.stop, ctx, access, lead, claim.LeaseUntil)
		})
	}
	go func() {
		tries.Wait()
		w.handing.Done()
	}()
}

// freeSlot takes a try slot if one is free.
func (w *workerState) freeSlot() bool {
	select {
	case w.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// freeHanded frees a slot a hand-over held.
func (w *workerState) freeHanded() {
	w.handed.Add(-1)
	<-w.slots
}

// takeHandOvers makes Reserve hand out slots while ctx lasts; the
// returned function stops that and waits for the hand-overs under way.
func (w *workerState) takeHandOvers(ctx context.Context) (stop func()) {
	w.mu.Lock()
	w.running = ctx
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.running = nil
		w.mu.Unlock()
		w.handing.Wait()
	}
}
