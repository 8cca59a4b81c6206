package projection_test

import (
	"testing"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
)

func TestKeyedStatements_ReadTheirTableByIndexAtAnySize(t *testing.T) {
	t.Parallel()
	testkit.ReadByIndexAtAnySize(t, projection.KeyedStatements)
}
