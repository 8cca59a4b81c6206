package storetest

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// ReadModelsDoc is docs/read-models.md, which documents the read models'
// tables and the queries analysts run on either store.
func ReadModelsDoc(t testing.TB) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "docs", "read-models.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// RunDocumentedQueries runs every SQL query of docs/read-models.md on db,
// a store projected from a history that has rows for each of them: each
// must run and return rows (but the one listing waiting decisions older
// than a documented time, which a fresh history has none of).
func RunDocumentedQueries(t *testing.T, db *sql.DB) {
	t.Helper()
	queries := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(ReadModelsDoc(t), -1)
	if len(queries) < 5 {
		t.Fatalf("found %d queries in docs/read-models.md", len(queries))
	}
	for _, q := range queries {
		query := strings.TrimSpace(q[1])
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("documented query fails: %v\n%s", err, query)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("documented query fails: %v\n%s", err, query)
		}
		rows.Close()
		if n == 0 && !strings.Contains(query, "status = 'waiting'") {
			t.Fatalf("documented query returns nothing on a history that has such rows:\n%s", query)
		}
	}
}
