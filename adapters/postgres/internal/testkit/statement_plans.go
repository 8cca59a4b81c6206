package testkit

import (
	"strings"
	"testing"
)

// KeyedStatement is a statement that finds rows of a growing table through
// keys passed with it: its name, its table, and args that name one key.
// An alias, so that the packages' own tests can list theirs without
// importing this package.
type KeyedStatement = struct {
	Name, Table, Query string
	Args               []any
}

// ReadByIndexAtAnySize checks that each statement finds its rows by key
// whatever the planner believes of the tables: a JSON argument is guessed
// at 100 rows, and with that guess a join read the whole delivery queue,
// or the whole of ctj_decisions, for every batch of tries. Checked on
// 20,000 rows without statistics (the server's autovacuum may be off) and
// with them.
func ReadByIndexAtAnySize(t *testing.T, statements []KeyedStatement) {
	t.Helper()
	s := NewStore(t)
	exec(t, s, `INSERT INTO ctj_deliveries (key, order_id, widget_id, payload, decided_at, deadline_at, next_attempt_at, status)
		SELECT 'k-' || i, 'o-' || i, 'w', '{}', now(), now() + interval '1 day', now(),
			CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'delivered' END
		FROM generate_series(1, 20000) i`)
	exec(t, s, `INSERT INTO ctj_decisions (order_id, widget_id, attempt, decision, key, reason, decided_at, decided_by, status)
		SELECT 'o-' || i, 'w', 1, 'send', 'k-' || i, 'qualified', now(), gen_random_uuid(), 'delivered'
		FROM generate_series(1, 20000) i`)
	for _, stats := range []string{"without statistics", "after ANALYZE"} {
		if stats == "after ANALYZE" {
			exec(t, s, `ANALYZE ctj_deliveries, ctj_decisions`)
		}
		for _, st := range statements {
			plan := explain(t, s, st.Query, st.Args...)
			if strings.Contains(plan, "Seq Scan on "+st.Table) {
				t.Errorf("%s, %s: reads all of %s:\n%s", st.Name, stats, st.Table, plan)
			}
			if !strings.Contains(plan, st.Table) {
				t.Errorf("%s, %s: the plan does not name %s:\n%s", st.Name, stats, st.Table, plan)
			}
		}
	}
}

func exec(t *testing.T, s Store, query string) {
	t.Helper()
	if _, err := s.DB.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// explain is query's plan as the engine's sessions make it, in text.
func explain(t *testing.T, s Store, query string, args ...any) string {
	t.Helper()
	return strings.Join(Texts(t, s.DB, `EXPLAIN `+query, args...), "\n")
}
