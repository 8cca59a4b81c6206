package domain

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
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
// permutation of each table case's facts, with re-deliveries of facts
// already folded slipped in at random, and expects the decisions of the
// table's own order. Cases resting on log order (policy changes, conflicts,
// where "first" decides) are left out: the next test states what holds for
// them.
func TestFold_ArrivalOrderAndRedeliveryDoNotChangeTheDecisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	for _, c := range slices.Concat(ruleExamples, ruleEdgeCases) {
		if c.arrivalMatters || c.changes != nil {
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

// TestFold_ArrivalOrderChangesOnlyWhatTheFirstRecordedSettles folds every
// table case without a policy change, and random sets of facts under every
// kind of policy, in many arrival orders, and checks what docs/rules.md says
// stays the same when "first recorded stands" lets the order matter.
func TestFold_ArrivalOrderChangesOnlyWhatTheFirstRecordedSettles(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 12))
	for _, c := range slices.Concat(ruleExamples, ruleEdgeCases) {
		if c.changes != nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			checkFirstRecorded(t, rng, c.policy, permutations(c.events))
		})
	}
	for i := range 300 {
		policy, events := randomFacts(rng)
		t.Run(fmt.Sprintf("random %d", i), func(t *testing.T) {
			checkFirstRecorded(t, rng, policy, arrivalOrders(rng, events, 60))
		})
	}
}

// FuzzFold_ArrivalOrder runs the check above on random sets of facts drawn
// from the fuzzer's seeds.
func FuzzFold_ArrivalOrder(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(2026), uint64(11))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		rng := rand.New(rand.NewPCG(a, b))
		policy, events := randomFacts(rng)
		checkFirstRecorded(t, rng, policy, arrivalOrders(rng, events, 24))
	})
}

// checkFirstRecorded folds the same facts in each of the arrival orders and
// checks, for every order:
//   - conflicts are ignored by the rules: folding only the facts that stand
//     (those without a conflict note), at their log positions, gives the very
//     same decisions;
//   - under only_successful the lead goes to the answered attempt rule 6
//     names: the lowest of those answered before call.ordered was recorded
//     (they become decidable together), else the first answered after it;
//
// and across the orders:
//   - the keys sent depend only on which facts stand;
//   - every decision (verdict, key, reason, warnings, payload) depends only on
//     which facts stand and on the attempt holding the only_successful lead.
//
// So where no fact can contradict another, any arrival order gives the same
// decisions.
func checkFirstRecorded(t *testing.T, rng *rand.Rand, inForce Placement, orders [][]CallEvent) {
	t.Helper()
	type seen struct {
		order []string
		sent  []LeadKey
		all   []decisionOutcome
	}
	bySet := map[string]seen{}
	bySetAndHolder := map[string]seen{}
	for _, order := range orders {
		s := foldWithRedeliveries(t, rng, inForce, order)
		standing := standingFacts(s)

		alone := OrderState{}
		for _, e := range standing {
			alone, _ = alone.Fold(e, inForce)
		}
		if !reflect.DeepEqual(alone.Decisions, s.Decisions) {
			t.Fatalf("arrival order %v: the conflicts swayed the decisions\n with %+v\n without %+v",
				ids(order), decisionOutcomes(s), decisionOutcomes(alone))
		}

		holder := leadHolder(inForce, standing)
		if d, ok := decisionOf(s, holder); holder != 0 && (!ok || d.Verdict != Send) {
			t.Fatalf("arrival order %v: attempt %d should hold the lead; decisions %+v", ids(order), holder, decisionOutcomes(s))
		}

		now := seen{ids(order), sentKeys(s), decisionOutcomes(s)}
		set := strings.Join(slices.Sorted(slices.Values(eventIDs(standing))), " ")
		if before, ok := bySet[set]; !ok {
			bySet[set] = now
		} else if !slices.Equal(before.sent, now.sent) {
			t.Fatalf("the same facts stand, different keys sent:\n %v sent %v\n %v sent %v", before.order, before.sent, now.order, now.sent)
		}
		key := fmt.Sprintf("%s | %d", set, holder)
		if before, ok := bySetAndHolder[key]; !ok {
			bySetAndHolder[key] = now
		} else if !reflect.DeepEqual(before.all, now.all) {
			t.Fatalf("the same facts stand, different decisions:\n %v: %+v\n %v: %+v", before.order, before.all, now.order, now.all)
		}
	}
}

// standingFacts are the order's events the rules read: all but conflicts.
func standingFacts(s OrderState) []LoggedEvent {
	var out []LoggedEvent
	for _, e := range s.Events {
		if !strings.HasPrefix(e.Note, "conflict:") {
			e.Note = ""
			out = append(out, e)
		}
	}
	return out
}

// leadHolder is the attempt rule 6 gives an only_successful order's lead to,
// read from the standing facts in log order; 0 when rule 6 does not govern
// the order or gives no lead.
func leadHolder(inForce Placement, standing []LoggedEvent) int {
	p := inForce.Policy
	if !inForce.Integrated() || !p.OnlySuccessful || p.OnlyLastAttempt {
		return 0
	}
	holder, placed := 0, false
	for _, e := range standing {
		switch {
		case e.Type == CallOrdered:
			if e.Order.Kind == KindTap2Call && !p.Tap2Call {
				return 0
			}
			placed = true
		case e.Type != CallAnswered:
		case !placed && (holder == 0 || e.Attempt < holder):
			holder = e.Attempt // decided together once call.ordered arrives
		case placed && holder == 0:
			holder = e.Attempt
		}
	}
	if !placed {
		return 0
	}
	return holder
}

func sentKeys(s OrderState) []LeadKey {
	var out []LeadKey
	for _, d := range s.Decisions {
		if d.Verdict == Send {
			out = append(out, d.Key)
		}
	}
	slices.Sort(out)
	return out
}

func eventIDs(events []LoggedEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventID
	}
	return out
}

// randomFacts draws a policy of any valid kind and up to 6 facts of one
// order: attempts 1–3 dialed, answered, failed (both, now and then), reported
// as the last; call.ordered of either kind, deferred or not, sometimes
// missing, now and then twice.
func randomFacts(rng *rand.Rand) (Placement, []CallEvent) {
	var policy Placement
	switch rng.IntN(8) {
	case 0:
		policy = noPolicy
	case 1:
		policy = placement(1, disabled, func(p *Policy) {
			if rng.IntN(2) == 0 {
				p.Hook = HookBeforeCall
			}
		})
	default:
		policy = placement(1, func(p *Policy) {
			p.Tap2Call = rng.IntN(3) > 0
			if rng.IntN(3) == 0 {
				p.Hook = HookBeforeCall // refused with either filter
				return
			}
			p.OnlySuccessful, p.OnlyLastAttempt = rng.IntN(2) == 0, rng.IntN(2) == 0
		})
	}
	var events []CallEvent
	orderOpts := func() []func(*OrderData) {
		var opts []func(*OrderData)
		if rng.IntN(2) == 0 {
			opts = append(opts, deferred)
		}
		if rng.IntN(4) == 0 {
			opts = append(opts, tap2call)
		}
		if rng.IntN(4) == 0 {
			opts = append(opts, noSession)
		}
		return opts
	}
	if rng.IntN(8) > 0 {
		events = append(events, ordered(orderOpts()...))
	}
	if rng.IntN(10) == 0 {
		events = append(events, withID(ordered(orderOpts()...), "ordered-again"))
	}
	for n := 1; n <= 3; n++ {
		if rng.IntN(3) == 0 {
			events = append(events, dialed(n))
		}
		switch rng.IntN(6) {
		case 0, 1:
			events = append(events, answered(n))
		case 2, 3:
			events = append(events, failed(n))
		case 4:
			events = append(events, answered(n), failed(n))
		}
		if rng.IntN(4) == 0 {
			events = append(events, lastAttempt(n))
		}
	}
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	return policy, events[:min(len(events), 6)]
}

// arrivalOrders is every permutation of events when there are at most n,
// else n random ones.
func arrivalOrders(rng *rand.Rand, events []CallEvent, n int) [][]CallEvent {
	if all := permutations(events); len(all) <= n {
		return all
	}
	out := make([][]CallEvent, n)
	for i := range out {
		out[i] = slices.Clone(events)
		rng.Shuffle(len(events), func(a, b int) { out[i][a], out[i][b] = out[i][b], out[i][a] })
	}
	return out
}

// foldWithRedeliveries folds events in order, after each one re-delivering
// an already folded fact now and then, and checks that a re-delivery changes
// nothing and that every state reads back from a store as itself.
func foldWithRedeliveries(t *testing.T, rng *rand.Rand, inForce Placement, events []CallEvent) OrderState {
	t.Helper()
	var s OrderState
	pos := 0
	for i, e := range events {
		pos++
		s, _ = s.Fold(loggedAt(e, pos), inForce)
		if back, err := OrderStateFromStore(s.OrderID, s.WidgetID, s.Placement, s.Events, s.Decisions); err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("after %v the state does not read back from a store: %v", ids(events[:i+1]), err)
		}
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
