package main

import (
	"testing"
	"time"
)

// A slow count (a long backlog) spaces the checks out, so that counting
// never takes more than a twentieth of the time.
func TestNextCheck_SpacesSlowCountsOut(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{2 * time.Millisecond, time.Second},
		{50 * time.Millisecond, time.Second},
		{500 * time.Millisecond, 10 * time.Second},
	} {
		if got := nextCheck(time.Second, c.took); got != c.want {
			t.Errorf("after a check of %s: next in %s, want %s", c.took, got, c.want)
		}
	}
}
