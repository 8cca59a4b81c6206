// Package brokers holds the end-to-end tests of ingest from NATS JetStream
// and RabbitMQ: delivery once, duplicates, dead letters, a store or broker
// away, competing serves, and shards consuming their own subjects.
//
// They run the real binary through tests/harness; PostgreSQL must accept
// postgres@127.0.0.1:5432 without a password.
package brokers

import (
	"testing"

	"ctjournal/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
