package tests

import (
	"flag"
	"os"
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on engines and the fake; let more of them wait
	// at once than the machine has cores, unless -parallel was given.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(harness.Run(m))
}
