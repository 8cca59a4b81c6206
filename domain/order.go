package domain

import (
	"fmt"
	"slices"
	"time"
)

// LoggedEvent is a call event as the log holds it: with its position in the
// log's total order and the time the log recorded it.
type LoggedEvent struct {
	CallEvent
	Position   int64
	RecordedAt time.Time
	Note       string // set by Fold: conflict or late; empty otherwise
}

// OrderState is what the rules know about one order: its facts in log order
// and the current decision on each deciding fact. The projection keeps it
// per order; Fold is the only way to advance it.
type OrderState struct {
	OrderID   string
	WidgetID  string
	Placement *Placement    // nil until the first call.ordered is folded
	Events    []LoggedEvent // every fact folded so far, in log order
	Decisions []Decision    // one per deciding fact (and, under rule 4, finished attempt); 0 first
}

// Step is what folding one event changed.
type Step struct {
	Note    string     // the event's note: conflict or late; empty otherwise
	Changed []Decision // decisions added or changed (a wait re-decided)
}

// Fold adds the next event of the order in log order. inForce is the
// widget's policy in force at the event's log position; it matters only when
// the event is the order's first call.ordered (the order keeps that policy).
// Folding an event whose EventID is already in the state changes nothing.
func (s OrderState) Fold(e LoggedEvent, inForce Placement) (OrderState, Step) {
	if slices.ContainsFunc(s.Events, func(old LoggedEvent) bool { return old.EventID == e.EventID }) {
		return s, Step{}
	}
	next := s
	if len(s.Events) == 0 {
		next.OrderID, next.WidgetID = e.OrderID, e.WidgetID
	}
	facts := factsOf(s.Events, e.Attempt)
	// Recorded from its place in the new state, which outlives the fold.
	next.Events = appendEvent(s.Events, e)
	added := &next.Events[len(next.Events)-1]
	note := facts.add(&added.CallEvent)
	if e.Type == CallOrdered && s.Placement == nil {
		next.Placement = placed(inForce)
	}
	rules := orderRules{orderID: next.OrderID, widgetID: next.WidgetID, placement: next.Placement, facts: facts}
	var changed []Decision
	next.Decisions, changed = rules.decide(s.Decisions, e)
	if note == "" && len(changed) == 0 {
		note = lateNote(rules, next.Decisions, e.CallEvent)
	}
	added.Note = note
	return next, Step{Note: note, Changed: changed}
}

// appendEvent appends e so that no other state sees it, without copying the
// order's facts on every fold. Past the end of events lies either room no
// state holds, or the fact that another fold from the same state claimed
// there: then it copies. Only arrays appendEvent grew have room past their
// end (OrderStateFromStore clips what a store hands it), and a claimed slot
// always holds an event id.
func appendEvent(events []LoggedEvent, e LoggedEvent) []LoggedEvent {
	if n := len(events); n < cap(events) && e.EventID != "" {
		if slot := &events[:n+1][n]; slot.EventID == "" {
			*slot = e
			return events[:n+1]
		}
	}
	grown := make([]LoggedEvent, len(events), max(2*len(events), minOrderFacts))
	copy(grown, events)
	return append(grown, e)
}

// minOrderFacts is the room an order's first fact gets: a call that
// connects is reported in three facts (ordered, dialed, answered), so most
// orders need no second array.
const minOrderFacts = 4

// placed copies the placement, policy included, so the order keeps the
// policy it was placed under whatever later happens to the caller's value.
func placed(inForce Placement) *Placement {
	p := inForce
	if inForce.Policy != nil {
		policy := *inForce.Policy
		p.Policy = &policy
	}
	return &p
}

// lateNote explains an attempt's event that changed nothing because the
// decision it concerns was already final; empty when there is none.
func lateNote(r orderRules, decisions []Decision, e CallEvent) string {
	if e.Attempt == 0 {
		return ""
	}
	if r.decidedAtOrderTime() {
		d := decisions[0] // attempt 0, decided when call.ordered was folded
		if d.Verdict == Send {
			return fmt.Sprintf("late: lead %s was already sent at order time", d.Key)
		}
		return "late: the order was already decided at order time (skip)"
	}
	i, found := slices.BinarySearchFunc(decisions, e.Attempt, byAttempt)
	if !found || !decisions[i].Final() {
		return ""
	}
	d := decisions[i]
	verdict := string(d.Verdict)
	if d.Verdict == Send {
		verdict += " " + string(d.Key)
	}
	return fmt.Sprintf("late: attempt %d was already decided (%s)", e.Attempt, verdict)
}
