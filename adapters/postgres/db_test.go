package postgres_test

import (
	"testing"
)

// Sessions run in UTC (the log's created_at has no time zone) and without
// JIT compilation (it would cost the engine's short queries hundreds of
// milliseconds whenever table statistics are missing).
func TestOpen_SessionSettings(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	got := texts(t, s.db, `SELECT concat_ws(' ', current_setting('TimeZone'), current_setting('jit'))`)
	if want := "UTC off"; len(got) != 1 || got[0] != want {
		t.Fatalf("session settings (TimeZone, jit): %v, want [%s]", got, want)
	}
}
