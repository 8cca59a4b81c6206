package eventlog

import (
	"slices"
	"testing"

	"ctjournal/app"
)

func callOf(events int) *appendCall {
	return &appendCall{events: make([]app.NewEvent, events)}
}

func sizes(group []*appendCall) []int {
	var out []int
	for _, c := range group {
		out = append(out, len(c.events))
	}
	return out
}

// Small calls that arrive while a group is in flight wait for it, and then
// go together, in arrival order, as the next group.
func TestGroupForming_SmallCallsGatherWhileAGroupIsInFlight(t *testing.T) {
	var f groupForming
	f.add(callOf(1))
	if got := sizes(f.next()); !slices.Equal(got, []int{1}) {
		t.Fatalf("first group: %v, want the one call waiting", got)
	}
	for _, n := range []int{1, 2, 1} {
		f.add(callOf(n))
		if g := f.next(); g != nil {
			t.Fatalf("a group of %v started beside the one in flight", sizes(g))
		}
	}
	f.done()
	if got := sizes(f.next()); !slices.Equal(got, []int{1, 2, 1}) {
		t.Fatalf("next group: %v, want the three calls that waited, in order", got)
	}
	if g := f.next(); g != nil || f.inFlight != 1 {
		t.Fatalf("after taking everything: group %v, %d in flight", sizes(g), f.inFlight)
	}
}

// A large group starts at once beside the ones in flight, up to the
// bound of groups in flight, and takes calls up to maxGroupEvents.
func TestGroupForming_LargeGroupsStartSideBySide(t *testing.T) {
	var f groupForming
	half := maxGroupEvents / 2
	for range 2*maxGroupsInFlight + 1 {
		f.add(callOf(half))
	}
	var started [][]int
	for g := f.next(); g != nil; g = f.next() {
		started = append(started, sizes(g))
	}
	if len(started) != maxGroupsInFlight || !slices.Equal(started[0], []int{half, half}) {
		t.Fatalf("groups started: %v, want %d of two calls each", started, maxGroupsInFlight)
	}
	f.done()
	if got := sizes(f.next()); !slices.Equal(got, []int{half}) {
		t.Fatalf("once a group is done: %v, want the call that waited", got)
	}
}
