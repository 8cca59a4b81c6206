package domain

import "time"

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
	Placement *Placement   // nil until the first call.ordered is folded
	Events    []LoggedEvent // every fact folded so far, in log order
	Decisions []Decision    // one per deciding fact, by attempt (0 first)
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
	panic("TODO")
}
