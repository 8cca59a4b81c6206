package domain

import (
	"reflect"
	"slices"
	"testing"
)

func TestFold_SameEventIDTwiceChangesNothing(t *testing.T) {
	s, _ := foldAll(placement(1), nil, ordered(), answered(1))
	again, step := s.Fold(loggedAt(answered(1), 9), placement(1))
	if !reflect.DeepEqual(again, s) {
		t.Errorf("state changed by a re-delivery:\n got %+v\nwant %+v", again, s)
	}
	if !reflect.DeepEqual(step, Step{}) {
		t.Errorf("step = %+v, want none", step)
	}
}

func TestFold_LeavesTheOldStateUntouched(t *testing.T) {
	s, _ := foldAll(placement(1, onlyLast), nil, ordered(), failed(1))
	events, decisions := slices.Clone(s.Events), slices.Clone(s.Decisions)

	a, _ := s.Fold(loggedAt(dialed(2), 3), placement(1))
	b, _ := s.Fold(loggedAt(lastAttempt(1), 3), placement(1))

	if !reflect.DeepEqual(s.Events, events) || !reflect.DeepEqual(s.Decisions, decisions) {
		t.Fatalf("folding changed the old state: %+v", s)
	}
	if a.Events[2].EventID != "call.dialed-2" || b.Events[2].EventID != "call.last_attempt-1" {
		t.Errorf("two folds of one state share their events: %s, %s", a.Events[2].EventID, b.Events[2].EventID)
	}
	if got := leadsOf(a)[0].reason; got != "attempt 1 is not the last attempt" {
		t.Errorf("after dialed 2: %q", got)
	}
	if got := leadsOf(b)[0].reason; got != "attempt 1 is the last attempt and failed" {
		t.Errorf("after last_attempt 1: %q", got)
	}
}

// Fold appends in place past the end of the events it grew: states folded
// from one state, and from each other, must each keep their own facts.
func TestFold_StatesFoldedFromOneStateStayApart(t *testing.T) {
	s, _ := foldAll(placement(1, onlyLast), nil, ordered(), dialed(1), failed(1))
	a, _ := s.Fold(loggedAt(dialed(2), 4), placement(1))
	b, _ := s.Fold(loggedAt(lastAttempt(1), 4), placement(1))
	a2, _ := a.Fold(loggedAt(answered(2), 5), placement(1))
	b2, _ := b.Fold(loggedAt(dialed(2), 5), placement(1))
	a3, _ := a.Fold(loggedAt(failed(2), 5), placement(1))
	want := map[string][]string{
		"s":  {"call.ordered-0", "call.dialed-1", "call.failed-1"},
		"a":  {"call.ordered-0", "call.dialed-1", "call.failed-1", "call.dialed-2"},
		"b":  {"call.ordered-0", "call.dialed-1", "call.failed-1", "call.last_attempt-1"},
		"a2": {"call.ordered-0", "call.dialed-1", "call.failed-1", "call.dialed-2", "call.answered-2"},
		"b2": {"call.ordered-0", "call.dialed-1", "call.failed-1", "call.last_attempt-1", "call.dialed-2"},
		"a3": {"call.ordered-0", "call.dialed-1", "call.failed-1", "call.dialed-2", "call.failed-2"},
	}
	for name, state := range map[string]OrderState{"s": s, "a": a, "b": b, "a2": a2, "b2": b2, "a3": a3} {
		var got []string
		for _, e := range state.Events {
			got = append(got, e.EventID)
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: events %v, want %v", name, got, want[name])
		}
	}
}

// A store's events may share their array with other rows: Fold must not
// write past their end.
func TestFold_DoesNotWritePastTheEventsAStoreHandedIn(t *testing.T) {
	s, _ := foldAll(placement(1), nil, ordered(), failed(1))
	backing := append(slices.Clone(s.Events), LoggedEvent{})
	stored, err := OrderStateFromStore(s.OrderID, s.WidgetID, s.Placement, backing[:len(s.Events)], s.Decisions)
	if err != nil {
		t.Fatal(err)
	}
	stored.Fold(loggedAt(failed(2), 3), placement(1))
	if backing[len(s.Events)].EventID != "" {
		t.Errorf("fold wrote into the store's array: %+v", backing[len(s.Events)])
	}
}

func TestFold_FirstEventNamesTheOrder(t *testing.T) {
	s, _ := foldAll(placement(1), nil, failed(1))
	if s.OrderID != testOrder || s.WidgetID != testWidget || s.Placement != nil {
		t.Errorf("order %q widget %q placement %v", s.OrderID, s.WidgetID, s.Placement)
	}
}

func TestFold_DecisionRecordsPolicyVersionTimeAndEvent(t *testing.T) {
	s, _ := foldAll(placement(7), nil, answered(1))
	if d := s.Decisions[0]; d.PolicyVersion != 0 {
		t.Errorf("wait for call.ordered under version %d, want 0", d.PolicyVersion)
	}
	s, _ = s.Fold(loggedAt(ordered(), 2), placement(7))
	d := s.Decisions[0]
	if d.PolicyVersion != 7 || !d.DecidedAt.Equal(loggedAt(ordered(), 2).RecordedAt) || d.DecidedBy != "call.ordered-0" {
		t.Errorf("decision %+v, want version 7 decided by call.ordered-0 when it was recorded", d)
	}
}

func TestFold_OrderKeepsACopyOfItsPolicy(t *testing.T) {
	inForce := placement(1)
	s, _ := OrderState{}.Fold(loggedAt(ordered(), 1), inForce)
	inForce.Policy.OnlySuccessful = true
	s, _ = s.Fold(loggedAt(failed(1), 2), inForce)
	if got := s.Decisions[0].Verdict; got != Send {
		t.Errorf("a change to the caller's policy value reached the order: %s", got)
	}
}

func TestFold_StepListsOnlyDecisionsAddedOrChanged(t *testing.T) {
	_, steps := foldAll(placement(1, bothFilters), nil, failed(1), ordered(), dialed(1), lastAttempt(1), answered(1))
	want := [][]lead{
		{{1, Wait, "", waitOrdered}},
		{{1, Wait, "", "waiting to learn whether attempt 1 is the last"}},
		nil, // the wait stays as it was
		{{1, Skip, "", "last attempt 1 failed; only successful calls are sent"}},
		nil, // a conflict
	}
	for i, step := range steps {
		if got := leadsOf(OrderState{Decisions: step.Changed}); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("step %d changed %+v, want %+v", i+1, got, want[i])
		}
	}
}

func TestFold_UnchangedWaitKeepsWhenAndWhyItWasDecided(t *testing.T) {
	s, _ := foldAll(placement(1, onlyLast), nil, ordered(), failed(1), dialed(1))
	d := s.Decisions[0]
	if d.DecidedBy != "call.failed-1" || !d.DecidedAt.Equal(loggedAt(failed(1), 2).RecordedAt) {
		t.Errorf("wait decided by %s at %s, want call.failed-1 at its record time", d.DecidedBy, d.DecidedAt)
	}
}

func TestFold_FinalDecisionNeverChanges(t *testing.T) {
	s, _ := foldAll(placement(1, onlySuccessful), nil, ordered(), answered(1))
	sent := s.Decisions[0]
	s, _ = foldAll(placement(1, onlySuccessful), nil, ordered(), answered(1), withID(failed(1), "f"), answered(2), lastAttempt(2))
	if !reflect.DeepEqual(s.Decisions[0], sent) {
		t.Errorf("sent decision changed:\n got %+v\nwant %+v", s.Decisions[0], sent)
	}
}

func TestFold_StepCarriesTheEventsNote(t *testing.T) {
	s, steps := foldAll(placement(1), nil, ordered(), answered(1), failed(1))
	if steps[2].Note != s.Events[2].Note || steps[2].Note == "" {
		t.Errorf("step note %q, event note %q", steps[2].Note, s.Events[2].Note)
	}
}
