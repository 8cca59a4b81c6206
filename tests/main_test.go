// Package tests holds the end-to-end tests: they run the real binary
// through tests/harness, against a fresh PostgreSQL database or the
// embedded store and a fake Calltouch, and talk to it only through its
// HTTP API and CLI.
//
// PostgreSQL must accept postgres@127.0.0.1:5432 without a password.
package tests

import (
	"flag"
	"os"
	"testing"

	"ctjournal/tests/harness"
)

// TestMain builds the binary once for every test (harness.Run).
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
