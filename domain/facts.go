package domain

import (
	"fmt"
	"iter"
)

// orderFacts is what the rules read from an order's events: the first
// recorded of each fact that must be unique. A later fact contradicting one
// of them is a conflict and is left out, so it cannot sway a decision.
type orderFacts struct {
	ordered  *CallEvent   // the first call.ordered; nil until known
	outcomes []*CallEvent // by attempt: its first call.answered or call.failed
	// finalFact is the call.answered or call.last_attempt that made its attempt
	// final: recorded before any fact named a higher attempt. nil while no
	// attempt is final; once set, no fact about a higher attempt is recorded.
	finalFact *CallEvent
	highest   int // the highest attempt any recorded fact names
}

// factsOf replays an order's events in log order, so the first recorded
// fact stands exactly as it did when each event was folded. attempt is that
// of the event about to be added: outcomes gets its room once.
func factsOf(events []LoggedEvent, attempt int) orderFacts {
	highest := attempt
	for i := range events {
		highest = max(highest, events[i].Attempt)
	}
	f := orderFacts{outcomes: make([]*CallEvent, 0, highest+1)}
	for i := range events {
		f.add(&events[i].CallEvent)
	}
	return f
}

// add records e, unless it contradicts a fact recorded before it: then it
// returns the conflict note and records nothing.
func (f *orderFacts) add(e *CallEvent) string {
	if note := f.conflict(e); note != "" {
		return note
	}
	switch e.Type {
	case CallOrdered:
		f.ordered = e
	case CallAnswered, CallFailed:
		for len(f.outcomes) <= e.Attempt {
			f.outcomes = append(f.outcomes, nil)
		}
		f.outcomes[e.Attempt] = e
	}
	// An answer after a higher attempt was named finishes its attempt but
	// does not make it final: the higher attempt was recorded first.
	if (e.Type == CallAnswered || e.Type == CallLastAttempt) && f.finalFact == nil && e.Attempt >= f.highest {
		f.finalFact = e
	}
	f.highest = max(f.highest, e.Attempt)
	return ""
}

// conflict says why e contradicts the facts recorded so far; empty when it
// does not. The first recorded stands: a fact about an attempt after the
// final one is a conflict, and so is a last attempt below one already named.
// The same last attempt reported twice is not a contradiction.
func (f *orderFacts) conflict(e *CallEvent) string {
	if e.Type == CallOrdered {
		if f.ordered != nil {
			return fmt.Sprintf("conflict: the order was already placed by event %s; this one is ignored", f.ordered.EventID)
		}
		return ""
	}
	if f.finalFact != nil && e.Attempt > f.finalFact.Attempt {
		return fmt.Sprintf("conflict: attempt %d %s, so no attempt follows it; this %s of attempt %d is ignored",
			f.finalFact.Attempt, finalBy[f.finalFact.Type], e.Type, e.Attempt)
	}
	switch e.Type {
	case CallAnswered, CallFailed:
		if prior := f.outcome(e.Attempt); prior != nil {
			return fmt.Sprintf("conflict: attempt %d already %s; this %s is ignored",
				e.Attempt, outcomePast[prior.Type], outcomeNoun[e.Type])
		}
	case CallLastAttempt:
		if f.highest > e.Attempt {
			return fmt.Sprintf("conflict: attempt %d was already named, so attempt %d is not the last; this one is ignored",
				f.highest, e.Attempt)
		}
	}
	return ""
}

var (
	outcomePast = map[EventType]string{CallAnswered: "answered", CallFailed: "failed"}
	outcomeNoun = map[EventType]string{CallAnswered: "answer", CallFailed: "failure"}
	finalBy     = map[EventType]string{CallAnswered: "was answered", CallLastAttempt: "was reported as the last attempt"}
)

// outcome is attempt n's call.answered or call.failed; nil while unknown.
func (f orderFacts) outcome(n int) *CallEvent {
	if n < len(f.outcomes) {
		return f.outcomes[n]
	}
	return nil
}

// finishedAttempts yields the attempts with a known outcome, ascending.
func (f orderFacts) finishedAttempts() iter.Seq[int] {
	return func(yield func(int) bool) {
		for n, o := range f.outcomes {
			if o != nil && !yield(n) {
				return
			}
		}
	}
}

// answered reports whether attempt n connected.
func (f orderFacts) answered(n int) bool {
	o := f.outcome(n)
	return o != nil && o.Type == CallAnswered
}

// final reports whether no attempt follows n: it was answered or reported as
// the last one before any fact named a higher attempt.
func (f orderFacts) final(n int) bool { return f.finalFact != nil && f.finalFact.Attempt == n }

// knownNonFinal reports whether some recorded fact names an attempt after n.
func (f orderFacts) knownNonFinal(n int) bool { return f.highest > n }
