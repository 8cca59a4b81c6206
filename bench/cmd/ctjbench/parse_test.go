package main

import (
	"testing"
	"time"
)

func TestParseRebuilt_TakesTheLastReport(t *testing.T) {
	out := "folding 10%\rfolding 50%\r\nrebuilt 10 events in 1s (10 events/s)\nrebuilt 1000000 events in 8.2s (121951.2 events/s)\n"

	events, perS, line, ok := parseRebuilt(out)

	if !ok || events != 1_000_000 || perS != 121951.2 || line != "rebuilt 1000000 events in 8.2s (121951.2 events/s)" {
		t.Errorf("parseRebuilt = %d, %v, %q, %v", events, perS, line, ok)
	}
	if _, _, _, ok := parseRebuilt("ctjournal: unknown command \"rebuild\""); ok {
		t.Error("parsed a report out of an error")
	}
}

func TestParseGoBench_ReadsEachLine(t *testing.T) {
	out := `goos: linux
BenchmarkFold/no_filter-2         	  300000	      4012 ns/op	    2048 B/op	      31 allocs/op
BenchmarkBuildPayload-2   	 1000000	      1234.5 ns/op	     512 B/op	       9 allocs/op
PASS
`
	got := parseGoBench(out)

	if len(got) != 2 {
		t.Fatalf("parsed %d benchmarks: %v", len(got), got)
	}
	if g := got["BenchmarkFold/no_filter"]; g.NsPerOp != 4012 || g.BytesPerOp != 2048 || g.AllocsPerOp != 31 || g.Iterations != 300000 {
		t.Errorf("BenchmarkFold/no_filter = %+v", g)
	}
	if g := got["BenchmarkBuildPayload"]; g.NsPerOp != 1234.5 {
		t.Errorf("BenchmarkBuildPayload = %+v", g)
	}
}

func TestPercentile_NearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}

	if p50, p99 := percentileMS(ds, 50), percentileMS(ds, 99); p50 != 50 || p99 != 99 {
		t.Errorf("p50 = %v, p99 = %v, want 50 and 99", p50, p99)
	}
	if percentileMS(nil, 99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -4321: "-4,321"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestBackendTitle(t *testing.T) {
	for title, backend := range map[string]bool{
		"postgres: 15/main: postgres ctj_smoke 127.0.0.1(39558) idle": true,
		"postgres: postgres ctj_x [local] SELECT":                     true,
		"postgres: 15/main: walwriter":                                false,
		"postgres: 15/main: checkpointer":                             false,
	} {
		if got := backendTitle.MatchString(title); got != backend {
			t.Errorf("%q: backend = %v, want %v", title, got, backend)
		}
	}
}
