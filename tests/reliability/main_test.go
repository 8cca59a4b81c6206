// Package reliability holds the end-to-end tests of ctjournal's promises
// under failure: serve killed (SIGKILL) or stopped (SIGTERM) under load,
// several serves on one database, Calltouch failing, the projection behind,
// PostgreSQL restarted (the Exclusive tests), and the soak run.
//
// They run the real binary through tests/harness; PostgreSQL must accept
// postgres@127.0.0.1:5432 without a password.
package reliability

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
