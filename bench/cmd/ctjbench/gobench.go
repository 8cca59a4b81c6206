package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// goBenchmark is one line of `go test -bench -benchmem`.
type goBenchmark struct {
	Iterations  int64   `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}

// goBenchmarks runs the domain package's micro-benchmarks (BenchmarkFold,
// BenchmarkBuildPayload) before anything else runs on the machine.
func goBenchmarks(ctx context.Context, goCmd, benchtime string) (map[string]goBenchmark, string, error) {
	cmd := exec.CommandContext(ctx, goCmd, "test", "-run=^$", "-bench=.", "-benchmem", "-benchtime="+benchtime, "./domain/")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return parseGoBench(string(out)), string(out), err
}

// parseGoBench reads lines such as
// "BenchmarkFold/no_filter-2  123456  9876 ns/op  1234 B/op  12 allocs/op".
func parseGoBench(out string) map[string]goBenchmark {
	res := map[string]goBenchmark{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		var g goBenchmark
		var err error
		if g.Iterations, err = strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				g.NsPerOp = v
			case "B/op":
				g.BytesPerOp = v
			case "allocs/op":
				g.AllocsPerOp = v
			}
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		res[name] = g
	}
	return res
}
