package queue_test

import (
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/queue"
)

// The delivery queue is vacuumed once enough tries were recorded, and not
// before.
func TestQueueIsVacuumedAfterEnoughTries(t *testing.T) {
	db, _ := pgtest.NewDatabase(t)
	d := queue.NewDeliveries(db)
	queue.SweepQueueAfter(d, 10)
	vacuums := func() int {
		var n int
		if err := db.QueryRow(`SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'ctj_deliveries'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	queue.TriesRecorded(d, 9)
	if n := queue.TriesSinceSweep(d); n != 9 {
		t.Fatalf("%d tries counted since a sweep after 9 tries, want 9: a sweep started before 10", n)
	}
	if n := vacuums(); n != 0 {
		t.Fatalf("vacuumed %d times after 9 tries, want none before 10", n)
	}
	queue.TriesRecorded(d, 1)
	if n := queue.TriesSinceSweep(d); n != 0 {
		t.Fatalf("%d tries counted since a sweep after 10 tries, want 0: no sweep started", n)
	}
	testkit.WaitFor(t, 30*time.Second, "a vacuum of ctj_deliveries after 10 tries", func() bool { return vacuums() > 0 })
}
