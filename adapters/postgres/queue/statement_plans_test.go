package queue_test

import (
	"testing"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/queue"
)

func TestKeyedStatements_ReadTheirTableByIndexAtAnySize(t *testing.T) {
	t.Parallel()
	testkit.ReadByIndexAtAnySize(t, queue.KeyedStatements)
}
