// Package hostile holds the end-to-end tests of what a careless or hostile
// client or policy sends: malformed and oversized bodies, HTTP limits, and
// outbound requests only to allowed Calltouch hosts.
//
// They run the real binary through tests/harness; PostgreSQL must accept
// postgres@127.0.0.1:5432 without a password.
package hostile

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
