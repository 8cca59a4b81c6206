package postgres_test

import (
	"testing"

	"ctjournal/adapters/postgres/internal/testkit"
)

// Sessions run in UTC (the log's created_at has no time zone), without JIT
// compilation (it would cost the engine's short queries hundreds of
// milliseconds whenever table statistics are missing), and plan prepared
// statements afresh at each run (a generic plan outlives the table sizes it
// was made for).
func TestOpen_SessionSettings(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	got := testkit.Texts(t, s.DB, `SELECT concat_ws(' ', current_setting('TimeZone'), current_setting('jit'), current_setting('plan_cache_mode'))`)
	if want := "UTC off force_custom_plan"; len(got) != 1 || got[0] != want {
		t.Fatalf("session settings (TimeZone, jit, plan_cache_mode): %v, want [%s]", got, want)
	}
}
