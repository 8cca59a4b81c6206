package loadgen

import (
	"testing"
	"time"

	"ctjournal/tests/harness"
)

// A key accepted twice is forgiven only when the serve whose connection
// carried the first acceptance was SIGKILLed within CrashWindow after it,
// and the second acceptance came after that kill.
func TestDoubleSends_ForgivesOnlyTheKilledServesRecentAcceptance(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	killed := harness.Kill{At: at(0), Ports: map[int]bool{40001: true}}
	tests := []struct {
		name      string
		accepted  []Acceptance
		forgiven  bool
		wantGapMS int64
	}{
		{"the killed serve's, just before the kill", []Acceptance{{at(-300 * time.Millisecond), 40001}, {at(9 * time.Second), 40002}}, true, 300},
		{"stamped a moment after the kill (the fake's skew)", []Acceptance{{at(200 * time.Millisecond), 40001}, {at(9 * time.Second), 40002}}, true, -200},
		{"another serve's connection", []Acceptance{{at(-300 * time.Millisecond), 40009}, {at(9 * time.Second), 40002}}, false, 0},
		{"longer before the kill than the window", []Acceptance{{at(-CrashWindow - time.Millisecond), 40001}, {at(9 * time.Second), 40002}}, false, 0},
		{"both before the kill", []Acceptance{{at(-300 * time.Millisecond), 40001}, {at(-100 * time.Millisecond), 40002}}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perKey := map[string]*KeyRequests{"o~1": {Requests: 2, Accepted: tt.accepted}}
			doubles, unexplained, windows := DoubleSends(perKey, []harness.Kill{killed})
			if doubles != 1 {
				t.Errorf("doubles = %d, want 1", doubles)
			}
			if forgiven := len(unexplained) == 0; forgiven != tt.forgiven {
				t.Fatalf("forgiven = %v (unexplained %v), want %v", forgiven, unexplained, tt.forgiven)
			}
			if tt.forgiven && (len(windows) != 1 || windows[0].Milliseconds() != tt.wantGapMS) {
				t.Errorf("windows = %v, want [%dms]", windows, tt.wantGapMS)
			}
		})
	}
}
