package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"ctjournal/adapters/sqlite"
	"ctjournal/adapters/sqlite/sqlitelog"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// TestRebuild_HundredThousandEvents rebuilds a log of at least 100k records
// (CTJ_REBUILD_EVENTS sets another size), twice: from empty read models,
// then over the rebuilt ones with few orders in memory. Both must give the
// same rows. It logs the rate reached.
func TestRebuild_HundredThousandEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("volume test")
	}
	want := 100_000
	if v, err := strconv.Atoi(os.Getenv("CTJ_REBUILD_EVENTS")); err == nil && v > 0 {
		want = v
	}
	s := newStore(t, time.Hour)
	ports := s.Ports()
	db := openReader(t, s)
	ctx := context.Background()
	for w, p := range rebuildPolicies() {
		if _, err := ports.Policies.UpdatePolicy(ctx, w, func(*app.StoredPolicy) (domain.Policy, error) { return p, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Windows of 200 orders, each order's events interleaved with the
	// others', a delivered try after every window's leads of "plain".
	start := time.Now()
	const window = 200
	for n := 0; count(t, db, `SELECT count(*) FROM ctj_log`) < want; n += window {
		var orders [][]domain.CallEvent
		var tries []any
		for i := n; i < n+window; i++ {
			w := rebuildWidgets[i%len(rebuildWidgets)]
			id := fmt.Sprintf("vol-%07d", i)
			orders = append(orders, orderEvents(id, w, i/len(rebuildWidgets)))
			if w == "plain" && i%3 == 0 {
				tries = append(tries, try(domain.LeadKey(id+"~1"), id, w, 1, 200, storetest.T0.Add(time.Hour)))
			}
		}
		appendEvents(t, ports.EventLog, interleaved(orders), 1000)
		appendRecords(t, s.Path, tries...)
	}
	events := count(t, db, `SELECT count(*) FROM ctj_log`)
	setProjectionAtEnd(t, s.Path)
	t.Logf("appended %d log records in %s", events, time.Since(start).Round(time.Millisecond))

	first := rebuild(t, s, sqlite.RebuildConfig{})
	t.Logf("first rebuild: %d events in %s, %.0f events/s", first.Events, first.Duration.Round(time.Millisecond), first.Rate())
	if first.Events != int64(events) {
		t.Fatalf("rebuilt %d events, the log holds %d", first.Events, events)
	}
	if count(t, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`) == 0 {
		t.Fatal("no lead's tries were applied")
	}
	before := dump(t, db)
	second := rebuild(t, s, sqlite.RebuildConfig{MaxOrders: 600})
	t.Logf("second rebuild, 600 orders in memory: %d events in %s, %.0f events/s", second.Events, second.Duration.Round(time.Millisecond), second.Rate())
	sameDump(t, before, dump(t, db))
}

// setProjectionAtEnd marks the whole log as folded by the projection, as
// if it had run: a rebuild then replays all of it.
func setProjectionAtEnd(t testing.TB, path string) {
	t.Helper()
	db, err := sqlitelog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO ctj_log_offsets (consumer_group, offset_acked) SELECT ?, max("offset") FROM ctj_log WHERE true
		ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`, sqlite.ProjectionConsumerGroup); err != nil {
		t.Fatal(err)
	}
}
