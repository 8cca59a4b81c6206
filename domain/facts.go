package domain

import "fmt"

// orderFacts is what the rules read from an order's events: the first
// recorded of each fact that must be unique. A later fact contradicting one
// of them is a conflict and is left out, so it cannot sway a decision.
type orderFacts struct {
	ordered  *CallEvent   // the first call.ordered; nil until known
	outcomes []*CallEvent // by attempt: its first call.answered or call.failed
	last     int          // attempt of the first call.last_attempt; 0 when unknown
	highest  int          // the highest attempt any recorded fact names
}

// factsOf replays an order's events in log order, so the first recorded
// fact stands exactly as it did when each event was folded.
func factsOf(events []LoggedEvent) orderFacts {
	var f orderFacts
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
	case CallLastAttempt:
		if f.last == 0 {
			f.last = e.Attempt
		}
	}
	f.highest = max(f.highest, e.Attempt)
	return ""
}

// conflict says why e contradicts the facts recorded so far; empty when it
// does not. The same last attempt reported twice is not a contradiction.
func (f *orderFacts) conflict(e *CallEvent) string {
	switch e.Type {
	case CallOrdered:
		if f.ordered != nil {
			return fmt.Sprintf("conflict: the order was already placed by event %s; this one is ignored", f.ordered.EventID)
		}
	case CallAnswered, CallFailed:
		if prior := f.outcome(e.Attempt); prior != nil {
			return fmt.Sprintf("conflict: attempt %d already %s; this %s is ignored",
				e.Attempt, outcomePast[prior.Type], outcomeNoun[e.Type])
		}
	case CallLastAttempt:
		if f.last != 0 && f.last != e.Attempt {
			return fmt.Sprintf("conflict: attempt %d was already reported as the last attempt; this one is ignored", f.last)
		}
	}
	return ""
}

var (
	outcomePast = map[EventType]string{CallAnswered: "answered", CallFailed: "failed"}
	outcomeNoun = map[EventType]string{CallAnswered: "answer", CallFailed: "failure"}
)

// outcome is attempt n's call.answered or call.failed; nil while unknown.
func (f orderFacts) outcome(n int) *CallEvent {
	if n < len(f.outcomes) {
		return f.outcomes[n]
	}
	return nil
}

// finishedAttempts lists the attempts with a known outcome, ascending.
func (f orderFacts) finishedAttempts() []int {
	var out []int
	for n, o := range f.outcomes {
		if o != nil {
			out = append(out, n)
		}
	}
	return out
}

// answered reports whether attempt n connected.
func (f orderFacts) answered(n int) bool {
	o := f.outcome(n)
	return o != nil && o.Type == CallAnswered
}

// final reports whether no attempt follows n: it was answered, or the core
// said it is the last one.
func (f orderFacts) final(n int) bool { return f.answered(n) || f.last == n }

// knownNonFinal reports whether some fact names an attempt after n.
func (f orderFacts) knownNonFinal(n int) bool { return f.highest > n }
