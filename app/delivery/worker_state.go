package delivery

import (
	"context"
	"sync"
	"sync/atomic"
)

// workerState is what a worker's claim rounds and hand-overs share.
type workerState struct {
	slots chan struct{} // tries in flight, of rounds and hand-overs alike

	mu      sync.Mutex
	running context.Context // Run's context; nil when no Run is taking hand-overs
	// lastRun is the context of the Run that took the hand-overs under
	// way: it stays set while Run, stopping, waits for them.
	lastRun context.Context
	handing sync.WaitGroup // hand-overs reserved and not yet finished
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
	return &workerState{slots: make(chan struct{}, parallel)}
}

// takeSlot waits for a try slot.
func (s *workerState) takeSlot() { s.slots <- struct{}{} }

// freeSlot frees a slot a claim round's try held.
func (s *workerState) freeSlot() { <-s.slots }

// takeSlotIfFree takes a try slot if one is free.
func (s *workerState) takeSlotIfFree() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// freeHanded frees a slot a hand-over held.
func (s *workerState) freeHanded() {
	s.handed.Add(-1)
	<-s.slots
}

// takeHandOvers makes Reserve hand out slots while ctx lasts; the
// returned function stops that and waits for the hand-overs under way.
func (s *workerState) takeHandOvers(ctx context.Context) (stop func()) {
	s.mu.Lock()
	s.running, s.lastRun = ctx, ctx
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
		s.handing.Wait()
	}
}
