// Package operations holds the end-to-end tests of the operator's
// commands: the CLI, quarantined log records, and copy-store.
//
// They run the real binary through tests/harness; PostgreSQL must accept
// postgres@127.0.0.1:5432 without a password.
package operations

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
