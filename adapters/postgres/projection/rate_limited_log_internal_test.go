package projection

import (
	"testing"
	"time"
)

// A loop failing a thousand times a second logs one line a second, which
// says how many it left out.
func TestErrorGate_LetsOneLineThroughPerInterval(t *testing.T) {
	g := &errorGate{interval: time.Second}
	t0 := time.Date(2026, 11, 24, 7, 15, 0, 0, time.UTC)
	passed := 0
	for i := range 3000 {
		if ok, left := g.pass(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			passed++
			if want := map[bool]int{true: 0, false: 999}[i == 0]; left != want {
				t.Fatalf("line %d passed saying %d were left out, want %d", i, left, want)
			}
		}
	}
	if passed != 3 {
		t.Fatalf("%d lines passed in 3 s, want 3", passed)
	}
}
