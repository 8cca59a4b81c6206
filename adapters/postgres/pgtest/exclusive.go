package pgtest

import (
	"os"
	"testing"
)

// Exclusive skips the test unless CTJ_E2E_EXCLUSIVE=1: it disturbs the
// whole PostgreSQL server, every database on it (it restarts the server,
// or holds a transaction open, and every projection on the server reads
// only below the oldest open transaction), so it runs alone, in make
// test's second step.
func Exclusive(t testing.TB) {
	t.Helper()
	if os.Getenv("CTJ_E2E_EXCLUSIVE") != "1" {
		t.Skip("disturbs the whole PostgreSQL server, so it runs alone: CTJ_E2E_EXCLUSIVE=1 (make test's second step)")
	}
}
