package rebuild

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestCopyRowsTime_WritesWhatTheLayoutWrites holds the digit-by-digit
// writer to AppendFormat's answer, for chosen edges and random times.
func TestCopyRowsTime_WritesWhatTheLayoutWrites(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 120_000_000, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 1, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 100, time.FixedZone("MSK", 3*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 6, 7, 8, 9, 10, 11, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		ns := rng.Int64N(int64(250 * 365 * 24 * time.Hour))
		if rng.IntN(3) == 0 {
			ns -= ns % int64(time.Microsecond)
		}
		times = append(times, time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ns)))
	}
	for _, tm := range times {
		var r copyRows
		got := string(r.time(tm).buf)
		want := tm.UTC().Format(copyTimeLayout) + "+00\t"
		if got != want {
			t.Fatalf("time(%v) = %q, want %q", tm, got, want)
		}
	}
}
