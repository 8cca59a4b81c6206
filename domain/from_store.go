package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// OrderStateFromStore is an order's state as a store kept it: the order's
// widget and placement, its facts in log order, its decisions. It checks
// what Fold guarantees of every state it returns, so a damaged or foreign
// row is refused with an error naming it rather than reaching the rules as
// a state Fold could never have built. An order with no facts is the empty
// state Fold starts from.
//
// It walks the facts and decisions once and allocates nothing unless it
// refuses: the projection reads every order it folds through it.
func OrderStateFromStore(orderID, widgetID string, placement *Placement, events []LoggedEvent, decisions []Decision) (OrderState, error) {
	if orderID == "" {
		return OrderState{}, fmt.Errorf("stored order: no order id")
	}
	if len(events) == 0 && (widgetID != "" || placement != nil || len(decisions) > 0) {
		return OrderState{}, fmt.Errorf("stored order %s: a widget, placement or decisions without facts", orderID)
	}
	if len(events) > 0 && events[0].WidgetID != widgetID {
		return OrderState{}, fmt.Errorf("stored order %s: widget %q, but its first fact names widget %q", orderID, widgetID, events[0].WidgetID)
	}
	ordered := false
	for i := range events {
		if err := storedFact(orderID, &events[i].CallEvent); err != nil {
			return OrderState{}, fmt.Errorf("stored order %s: fact %d: %w", orderID, events[i].Position, err)
		}
		ordered = ordered || events[i].Type == CallOrdered
	}
	if ordered != (placement != nil) {
		return OrderState{}, fmt.Errorf("stored order %s: placed %v, but holds call.ordered %v", orderID, placement != nil, ordered)
	}
	if placement != nil {
		if err := placement.check(); err != nil {
			return OrderState{}, fmt.Errorf("stored order %s: %w", orderID, err)
		}
	}
	if err := storedDecisions(orderID, placement, decisions); err != nil {
		return OrderState{}, fmt.Errorf("stored order %s: %w", orderID, err)
	}
	// Clipped: Fold appends in place only past the end of arrays it grew.
	return OrderState{OrderID: orderID, WidgetID: widgetID, Placement: placement, Events: slices.Clip(events), Decisions: decisions}, nil
}

// storedFact checks one fact of a stored order: its order, a type the rules
// know, and an attempt in range (the rules index attempts by number).
func storedFact(orderID string, e *CallEvent) error {
	switch {
	case e.OrderID != orderID:
		return fmt.Errorf("event %s names order %q", e.EventID, e.OrderID)
	case e.EventID == "":
		return fmt.Errorf("no event id")
	case e.Type == CallOrdered && (e.Attempt != 0 || e.Order == nil):
		return fmt.Errorf("event %s: call.ordered with an attempt or without its data", e.EventID)
	case e.Type == CallOrdered:
		return nil
	case e.Type != CallDialed && e.Type != CallAnswered && e.Type != CallFailed && e.Type != CallLastAttempt:
		return fmt.Errorf("event %s: unknown type %q", e.EventID, e.Type)
	case e.Attempt < 1 || e.Attempt > MaxAttempt:
		return fmt.Errorf("event %s: attempt %d out of 1–%d", e.EventID, e.Attempt, MaxAttempt)
	}
	return nil
}

// storedDecisions checks a stored order's decisions as decide leaves them:
// one per attempt, ascending; a known verdict; a send, and only a send, with
// its payload and a key of the order's that names its attempt or none, each
// key sent once; nothing but waits before the order is placed.
func storedDecisions(orderID string, placement *Placement, decisions []Decision) error {
	keyedByOrder := 0
	for i := range decisions {
		d := &decisions[i]
		switch {
		case d.Attempt < 0 || d.Attempt > MaxAttempt:
			return fmt.Errorf("decision on attempt %d: out of 0–%d", d.Attempt, MaxAttempt)
		case i > 0 && d.Attempt <= decisions[i-1].Attempt:
			return fmt.Errorf("decision on attempt %d: after attempt %d", d.Attempt, decisions[i-1].Attempt)
		case d.Verdict != Send && d.Verdict != Skip && d.Verdict != Wait:
			return fmt.Errorf("decision on attempt %d: unknown verdict %q", d.Attempt, d.Verdict)
		case placement == nil && d.Verdict != Wait:
			return fmt.Errorf("decision on attempt %d: %s before the order was placed", d.Attempt, d.Verdict)
		case d.DecidedBy == "":
			return fmt.Errorf("decision on attempt %d: decided by no fact", d.Attempt)
		case d.Verdict != Send && (d.Key != "" || d.Payload != nil):
			return fmt.Errorf("decision on attempt %d: %s with a lead", d.Attempt, d.Verdict)
		case d.Verdict != Send:
			continue
		case d.Payload == nil:
			return fmt.Errorf("decision on attempt %d: send without its payload", d.Attempt)
		case d.PolicyVersion != placement.Version:
			return fmt.Errorf("decision on attempt %d: sent under policy version %d, placed under %d", d.Attempt, d.PolicyVersion, placement.Version)
		}
		rest, ours := strings.CutPrefix(string(d.Key), orderID)
		switch {
		case ours && rest == "":
			keyedByOrder++
		case !ours || !strings.HasPrefix(rest, "~") || rest[1:] != strconv.Itoa(d.Attempt):
			return fmt.Errorf("decision on attempt %d: key %q is not the order's", d.Attempt, d.Key)
		}
	}
	if keyedByOrder > 1 {
		return fmt.Errorf("lead %s sent by %d decisions", orderID, keyedByOrder)
	}
	return nil
}

// PlacementFromStore is the placement a store kept: version 0 and no policy
// when the widget had none, else a version from 1 with its policy, whose
// hook the rules branch on.
func PlacementFromStore(version int, policy *Policy) (Placement, error) {
	p := Placement{Version: version, Policy: policy}
	return p, p.check()
}

func (p Placement) check() error {
	switch {
	case p.Version < 0:
		return fmt.Errorf("placement: policy version %d", p.Version)
	case p.Version == 0 && p.Policy != nil:
		return fmt.Errorf("placement: a policy without a version")
	case p.Version > 0 && p.Policy == nil:
		return fmt.Errorf("placement: policy version %d without its policy", p.Version)
	case p.Policy != nil && p.Policy.Hook != HookAfterCall && p.Policy.Hook != HookBeforeCall:
		return fmt.Errorf("placement: policy version %d has hook %q", p.Version, p.Policy.Hook)
	}
	return nil
}
