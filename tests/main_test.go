// Package tests holds the end-to-end tests of the API, the decision rules,
// ingest errors and delivery, on PostgreSQL and on the embedded store: they
// run the real binary through tests/harness with a fake Calltouch, and talk
// to it only through its HTTP API and CLI. The packages below it hold the
// other end-to-end tests: reliability, brokers, console, hostile input,
// operations.
//
// PostgreSQL must accept postgres@127.0.0.1:5432 without a password.
package tests

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
