// Command ctjbench measures ctjournal end to end: the built binary against a
// fresh PostgreSQL database and the fake Calltouch, each figure next to a
// baseline measured in the same run on the same database. `make bench` runs
// it; bench/README.md says what each figure means.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if floorChild() {
		os.Exit(serveFloor())
	}
	os.Exit(run())
}

func run() int {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctjbench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	b, err := newBench(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctjbench:", err)
		return 1
	}
	res, runErr := b.runAll(ctx)
	if err := b.close(); err != nil {
		fmt.Fprintln(os.Stderr, "ctjbench: cleanup:", err)
	}
	if res.Machine != "" {
		printTable(os.Stdout, res)
	}
	if runErr != nil {
		// A run cut short does not replace the results of a whole one.
		fmt.Fprintf(os.Stderr, "ctjbench: %v\nctjbench: the run stopped early; %s was not written\n", runErr, cfg.out)
		return 1
	}
	if err := writeResults(cfg.out, res); err != nil {
		fmt.Fprintln(os.Stderr, "ctjbench:", err)
		return 1
	}
	fmt.Fprintf(os.Stdout, "\nwrote %s\n", cfg.out)
	return 0
}

// config is what the command line and the environment choose.
type config struct {
	bin     string // the ctjournal binary
	adminDB string // a PostgreSQL URL of a database to run CREATE DATABASE from
	out     string
	goCmd   string
	goBench bool
	keep    bool
	profile string // a directory: profile ctjournal and PostgreSQL in each phase
	plan    plan
	only    map[string]bool // the phases to run; all when empty
}

// phaseNames are what -only chooses among. The growth points always run:
// they load the log the others measure.
var phaseNames = []string{"rebuild", "single", "batch", "brokers", "latency", "delivery", "embedded"}

// runs reports whether the run includes the phase.
func (c config) runs(phase string) bool { return len(c.only) == 0 || c.only[phase] }

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("ctjbench", flag.ContinueOnError)
	var c config
	quickDefault := os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0"
	quick := fs.Bool("quick", quickDefault, "a one-minute run with smaller figures (also BENCH_QUICK=1)")
	fs.StringVar(&c.bin, "bin", "bin/ctjournal", "the ctjournal binary to run")
	fs.StringVar(&c.adminDB, "pg", envOr("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL to create and drop the benchmark database from (also BENCH_PG_URL)")
	fs.StringVar(&c.out, "out", "bench/results.json", "where to write the results")
	fs.StringVar(&c.goCmd, "go", "go", "the go command, for the domain micro-benchmarks")
	fs.BoolVar(&c.goBench, "gobench", true, "run the domain micro-benchmarks first")
	fs.BoolVar(&c.keep, "keep", false, "keep the benchmark database instead of dropping it")
	fs.StringVar(&c.profile, "profile", "", "write a Go CPU profile of ctjournal (CTJ_DEBUG_ADDR) and pg_stat_activity samples of each phase into this directory")
	only := fs.String("only", "", "run only these phases, comma-separated, after the growth points: "+strings.Join(phaseNames, ","))
	growth := fs.String("growth", "", "the growth points, comma-separated event counts (default the plan's)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.plan = fullPlan()
	if *quick {
		c.plan = quickPlan()
	}
	if *only != "" {
		c.only = map[string]bool{}
		for _, name := range strings.Split(*only, ",") {
			if !slices.Contains(phaseNames, name) {
				return c, fmt.Errorf("-only: unknown phase %q (choose among %s)", name, strings.Join(phaseNames, ","))
			}
			c.only[name] = true
		}
	}
	if *growth != "" {
		c.plan.growthPoints = nil
		for _, field := range strings.Split(*growth, ",") {
			n, err := strconv.Atoi(field)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("-growth: %q is not a positive event count", field)
			}
			c.plan.growthPoints = append(c.plan.growthPoints, n)
		}
	}
	return c, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
