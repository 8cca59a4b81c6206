package domain

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// decisionOutcome is what must not depend on arrival order: everything a decision
// says except when and by which event it was taken.
type decisionOutcome struct {
	Attempt  int
	Verdict  Verdict
	Key      LeadKey
	Reason   string
	Warnings []string
	Payload  *Payload
}

func decisionOutcomes(s OrderState) []decisionOutcome {
	var out []decisionOutcome
	for _, d := range s.Decisions {
		out = append(out, decisionOutcome{d.Attempt, d.Verdict, d.Key, d.Reason, d.Warnings, d.Payload})
	}
	return out
}

// TestFold_ArrivalOrderAndRedeliveryDoNotChangeTheDecisions folds every
// permutation of each example's facts, with re-deliveries of facts already
// folded slipped in at random, and expects the decisions of the example's
// own order. Examples resting on log order (policy changes, conflicts, where
// "first" decides) are left out.
func TestFold_ArrivalOrderAndRedeliveryDoNotChangeTheDecisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	for _, c := range ruleExamples {
		if c.arrivalMatters {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if len(c.events) > 6 {
				t.Fatalf("%d facts: too many to try every permutation", len(c.events))
			}
			base, _ := foldAll(c.policy, nil, c.events...)
			want := decisionOutcomes(base)
			for _, perm := range permutations(c.events) {
				s := foldWithRedeliveries(t, rng, c.policy, perm)
				if got := decisionOutcomes(s); !reflect.DeepEqual(got, want) {
					t.Fatalf("arrival order %v\n got %+v\nwant %+v", ids(perm), got, want)
				}
			}
		})
	}
}

// foldWithRedeliveries folds events in order, after each one re-delivering
// an already folded fact now and then, and checks that a re-delivery changes
// nothing.
func foldWithRedeliveries(t *testing.T, rng *rand.Rand, inForce Placement, events []CallEvent) OrderState {
	t.Helper()
	var s OrderState
	pos := 0
	for i, e := range events {
		pos++
		s, _ = s.Fold(loggedAt(e, pos), inForce)
		for rng.IntN(3) == 0 {
			pos++
			again, step := s.Fold(loggedAt(events[rng.IntN(i+1)], pos), inForce)
			if !reflect.DeepEqual(again, s) || !reflect.DeepEqual(step, Step{}) {
				t.Fatalf("re-delivery after %v changed the order", ids(events[:i+1]))
			}
		}
	}
	return s
}

// permutations lists every order of events (Heap's algorithm).
func permutations(events []CallEvent) [][]CallEvent {
	var out [][]CallEvent
	a := append([]CallEvent(nil), events...)
	var generate func(k int)
	generate = func(k int) {
		if k <= 1 {
			out = append(out, append([]CallEvent(nil), a...))
			return
		}
		for i := range k - 1 {
			generate(k - 1)
			j := 0
			if k%2 == 0 {
				j = i
			}
			a[j], a[k-1] = a[k-1], a[j]
		}
		generate(k - 1)
	}
	generate(len(a))
	return out
}

func ids(events []CallEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventID
	}
	return out
}

func TestPermutations_ListsEveryOrderOnce(t *testing.T) {
	perms := permutations([]CallEvent{dialed(1), dialed(2), dialed(3), dialed(4)})
	seen := map[string]bool{}
	for _, p := range perms {
		seen[strings.Join(ids(p), " ")] = true
	}
	if len(perms) != 24 || len(seen) != 24 {
		t.Errorf("%d permutations, %d distinct; want 24", len(perms), len(seen))
	}
}
