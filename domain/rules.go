package domain

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
)

// reasonHasLead skips a candidate whose single lead key was already sent.
const reasonHasLead = "order already has a lead"

// orderRules applies rules 1–8 of docs/rules.md to one order's facts under the
// policy the order was placed with.
type orderRules struct {
	orderID   string
	widgetID  string
	placement *Placement // nil until call.ordered is known
	facts     orderFacts
}

// decidedAtOrderTime reports whether rule 4 governs the order: deferred, and
// placed under an enabled before_call policy. A disabled policy has no hook
// in force, so its deciding facts stay the finished attempts.
func (r orderRules) decidedAtOrderTime() bool {
	return r.facts.ordered != nil && r.facts.ordered.Order.Deferred() &&
		r.placement.Integrated() && r.placement.Policy.Hook == HookBeforeCall
}

// key is the lead key of deciding fact n: the order id when the rules yield
// at most one lead for the order, the order id and attempt otherwise.
func (r orderRules) key(n int) LeadKey {
	p := r.placement.Policy
	if r.decidedAtOrderTime() || p.OnlySuccessful || p.OnlyLastAttempt {
		return LeadKey(r.orderID)
	}
	return LeadKey(r.orderID + "~" + strconv.Itoa(n))
}

// decidingFacts yields, ascending, the attempts to decide: each finished
// attempt, and 0 first for an order decided at order time. Rule 4 decides
// that order's finished attempts too, each a skip, so that its audit shows
// the same whether an attempt finished before call.ordered or after.
func (r orderRules) decidingFacts() iter.Seq[int] {
	atOrderTime := r.decidedAtOrderTime()
	return func(yield func(int) bool) {
		if atOrderTime && !yield(0) {
			return
		}
		for n := range r.facts.finishedAttempts() {
			if !yield(n) {
				return
			}
		}
	}
}

// judge gives the rules' verdict on deciding fact n with its reason. A Send
// is only a candidate: decide skips it when its key was already sent.
func (r orderRules) judge(n int) (Verdict, string) {
	if r.facts.ordered == nil {
		return Wait, "waiting for call.ordered"
	}
	if !r.placement.Integrated() {
		return Skip, fmt.Sprintf("widget %s had no enabled Calltouch integration when the order was placed", r.widgetID)
	}
	if r.facts.ordered.Order.Kind == KindTap2Call && !r.placement.Policy.Tap2Call {
		return Skip, "tap-to-call integration is off"
	}
	if r.decidedAtOrderTime() {
		if n == 0 {
			return Send, "deferred order sent before its call (before_call)"
		}
		return Skip, reasonHasLead // rule 4: its attempts add no lead
	}
	p := r.placement.Policy
	switch {
	case p.OnlyLastAttempt:
		return r.judgeLast(n, p.OnlySuccessful)
	case p.OnlySuccessful:
		if r.facts.answered(n) {
			return Send, fmt.Sprintf("attempt %d answered; only successful calls are sent", n)
		}
		return Skip, fmt.Sprintf("attempt %d failed; only successful calls are sent", n)
	}
	if r.facts.answered(n) {
		return Send, fmt.Sprintf("attempt %d answered; every finished attempt is sent", n)
	}
	return Send, fmt.Sprintf("attempt %d failed; every finished attempt is sent", n)
}

// judgeLast is rule 7, and rule 8 when onlySuccessful is set too. An
// answered attempt is final only when no higher attempt was named first.
func (r orderRules) judgeLast(n int, onlySuccessful bool) (Verdict, string) {
	switch {
	case r.facts.final(n) && r.facts.answered(n):
		return Send, fmt.Sprintf("attempt %d is the last attempt and was answered", n)
	case r.facts.final(n) && onlySuccessful:
		return Skip, fmt.Sprintf("last attempt %d failed; only successful calls are sent", n)
	case r.facts.final(n):
		return Send, fmt.Sprintf("attempt %d is the last attempt and failed", n)
	case r.facts.knownNonFinal(n):
		return Skip, fmt.Sprintf("attempt %d is not the last attempt", n)
	}
	return Wait, fmt.Sprintf("waiting to learn whether attempt %d is the last", n)
}

// decide re-decides every deciding fact that is not final yet, in ascending
// attempt order. Candidates for one key that become decidable at different
// events get it in log order; those that become decidable together, lowest
// attempt first (rule 6's "second"). A decision whose verdict, key and
// reason stay the same is kept as it was. prev is copied at the first
// change only: a fold that changes nothing shares it.
func (r orderRules) decide(prev []Decision, by LoggedEvent) (next, changed []Decision) {
	next = prev
	for n := range r.decidingFacts() {
		i, had := slices.BinarySearchFunc(next, n, byAttempt)
		if had && next[i].Final() {
			continue
		}
		d := r.decision(n, by, next)
		if had {
			if old := next[i]; old.Verdict == d.Verdict && old.Key == d.Key && old.Reason == d.Reason {
				continue
			}
		}
		if len(changed) == 0 {
			next = append(make([]Decision, 0, len(prev)+1), prev...)
		}
		if had {
			next[i] = d
		} else {
			next = slices.Insert(next, i, d)
		}
		changed = append(changed, d)
	}
	return next, changed
}

func byAttempt(d Decision, n int) int { return d.Attempt - n }

// decision is the verdict on deciding fact n as of event by; a Send gets its
// key, payload and warnings, or becomes a Skip when the key was sent before.
func (r orderRules) decision(n int, by LoggedEvent, current []Decision) Decision {
	verdict, reason := r.judge(n)
	d := Decision{Attempt: n, Verdict: verdict, Reason: reason, DecidedAt: by.RecordedAt, DecidedBy: by.EventID}
	if r.placement != nil {
		d.PolicyVersion = r.placement.Version
	}
	if verdict != Send {
		return d
	}
	key := r.key(n)
	if slices.ContainsFunc(current, func(other Decision) bool { return other.Verdict == Send && other.Key == key }) {
		d.Verdict, d.Reason = Skip, reasonHasLead
		return d
	}
	p := buildPayload(*r.placement.Policy, key, *r.facts.ordered, r.facts.outcome(n))
	d.Key, d.Payload = key, &p
	if p.SessionID == "" {
		d.Warnings = []string{WarningNoSession}
	}
	return d
}
