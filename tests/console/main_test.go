// Package console holds the end-to-end tests of the support console at
// /ui/, driven in headless Chromium against the real binary.
//
// They run the real binary through tests/harness; PostgreSQL must accept
// postgres@127.0.0.1:5432 without a password.
package console

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
