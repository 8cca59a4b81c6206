package postgres_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"ctjournal/adapters/postgres/internal/testkit"
)

// TestReadModelsDoc_QueriesRun runs every SQL query docs/read-models.md
// shows analysts against a projected history with delivered, refused and
// skipped leads, so that the documented columns and queries stay true.
func TestReadModelsDoc_QueriesRun(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/read-models.md")
	if err != nil {
		t.Fatal(err)
	}
	queries := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(queries) < 5 {
		t.Fatalf("found %d queries in docs/read-models.md", len(queries))
	}
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
	for _, q := range queries {
		sql := strings.TrimSpace(q[1])
		rows, err := db.Query(sql)
		if err != nil {
			t.Fatalf("documented query fails: %v\n%s", err, sql)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("documented query fails: %v\n%s", err, sql)
		}
		rows.Close()
		// Waiting decisions are all younger than the documented time here.
		if n == 0 && !strings.Contains(sql, "status = 'waiting'") {
			t.Fatalf("documented query returns nothing on a history that has such rows:\n%s", sql)
		}
	}
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
