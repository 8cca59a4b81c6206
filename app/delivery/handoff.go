package delivery

import (
	"context"
	"sync"

	"ctjournal/app"
)

// Reserve takes up to n free try slots for leads the projection is about to
// queue claimed for this worker (app.LeadHandoff).
func (w *Worker) Reserve(n int) app.HandoffClaim {
	s := w.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil || s.running.Err() != nil || s.unrecorded.Load() > 0 {
		return app.HandoffClaim{}
	}
	n = min(n, w.cfg.Batch-int(s.handed.Load()))
	taken := 0
	for taken < n && s.takeSlotIfFree() {
		taken++
	}
	if taken == 0 {
		return app.HandoffClaim{}
	}
	s.handed.Add(int32(taken))
	s.handing.Add(1)
	now := w.cfg.Now()
	return app.HandoffClaim{Owner: w.cfg.Owner, Now: now, LeaseUntil: now.Add(w.cfg.Lease), Slots: taken}
}

// HandOver tries the leads queued under claim, each on a slot the claim
// reserved, and frees the slots left over (app.LeadHandoff).
func (w *Worker) HandOver(claim app.HandoffClaim, leads []app.ClaimedLead) {
	if claim.Slots == 0 {
		return
	}
	s := w.state
	leads = leads[:min(len(leads), claim.Slots)]
	for range claim.Slots - len(leads) {
		s.freeHanded()
	}
	if len(leads) == 0 {
		s.handing.Done()
		return
	}
	// The claim is not finished, so the Run that reserved it still waits.
	s.mu.Lock()
	stop := s.lastRun
	s.mu.Unlock()
	ctx := context.WithoutCancel(stop)
	access := newAccessCache(w.policies)
	var tries sync.WaitGroup
	for _, lead := range leads {
		tries.Go(func() {
			defer s.freeHanded()
			w.tryLogged(stop, ctx, access, lead, claim.LeaseUntil)
		})
	}
	go func() {
		tries.Wait()
		s.handing.Done()
	}()
}
