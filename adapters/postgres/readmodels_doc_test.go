package postgres_test

import (
	"regexp"
	"strings"
	"testing"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/app/storetest"
)

// TestReadModelsDoc_QueriesRun runs every SQL query docs/read-models.md
// shows analysts against a projected history with delivered, refused and
// skipped leads, so that the documented columns and queries stay true.
func TestReadModelsDoc_QueriesRun(t *testing.T) {
	t.Parallel()
	db := testkit.ProjectedHistory(t)
	// Some leads delivered (latency), one refused, as the delivery worker logs them.
	if _, err := db.Exec(`INSERT INTO ctj_delivery_tries (position, key, try, at, duration_ms, http_status, response, outcome)
		SELECT -row_number() OVER (), key, 1, decided_at + interval '2 seconds', 80, 200, '{}', 'delivered'
		FROM ctj_decisions WHERE decision = 'send'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE ctj_decisions SET status = 'delivered', tries = 1, delivered_at = decided_at + interval '2 seconds'
		WHERE decision = 'send'`); err != nil {
		t.Fatal(err)
	}
	storetest.RunDocumentedQueries(t, db)
	doc := storetest.ReadModelsDoc(t)
	// The columns the tables are documented with are the ones they have.
	tables := regexp.MustCompile("(?m)^## `(ctj_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1)
	if len(tables) != 5 {
		t.Fatalf("found %d documented tables", len(tables))
	}
	sections := regexp.MustCompile("(?m)^## ").Split(string(doc), -1)
	for _, section := range sections {
		name := regexp.MustCompile("^`(ctj_[a-z_]+)`").FindStringSubmatch(section)
		if name == nil {
			continue
		}
		var documented []string
		for _, row := range regexp.MustCompile("(?m)^\\| (`[a-z_]+`(?:, `[a-z_]+`)*) \\|").FindAllStringSubmatch(section, -1) {
			for _, c := range strings.Split(row[1], ", ") {
				documented = append(documented, strings.Trim(c, "`"))
			}
		}
		actual := testkit.Texts(t, db, `SELECT column_name::text FROM information_schema.columns WHERE table_name = '`+name[1]+`' ORDER BY ordinal_position`)
		if strings.Join(documented, ",") != strings.Join(actual, ",") {
			t.Fatalf("%s: documented columns %v, the table has %v", name[1], documented, actual)
		}
	}
}
