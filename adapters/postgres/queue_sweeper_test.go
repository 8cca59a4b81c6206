package postgres_test

import (
	"testing"
	"time"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
)

// The delivery queue is vacuumed once enough tries were recorded, and not
// before.
func TestQueueIsVacuumedAfterEnoughTries(t *testing.T) {
	db, _ := pgtest.NewDatabase(t)
	d := postgres.NewDeliveries(db)
	postgres.SweepQueueAfter(d, 10)
	vacuums := func() int {
		var n int
		if err := db.QueryRow(`SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'ctj_deliveries'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	postgres.TriesRecorded(d, 9)
	if n := postgres.TriesSinceSweep(d); n != 9 {
		t.Fatalf("%d tries counted since a sweep after 9 tries, want 9: a sweep started before 10", n)
	}
	if n := vacuums(); n != 0 {
		t.Fatalf("vacuumed %d times after 9 tries, want none before 10", n)
	}
	postgres.TriesRecorded(d, 1)
	if n := postgres.TriesSinceSweep(d); n != 0 {
		t.Fatalf("%d tries counted since a sweep after 10 tries, want 0: no sweep started", n)
	}
	rbWaitFor(t, 30*time.Second, "a vacuum of ctj_deliveries after 10 tries", func() bool { return vacuums() > 0 })
}
