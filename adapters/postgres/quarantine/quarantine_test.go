package quarantine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/quarantine"
	"ctjournal/adapters/postgres/rebuild"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// damagedRecord is a log record the projection cannot apply, written
// straight into the log.
type damagedRecord struct {
	what    string
	orderID string // the order it names, when that can be read
	payload string
	// asEvent: it reads as a call event, so an explanation shows it among
	// the events with a note rather than as an entry of its own.
	asEvent bool
}

// envelope is a call event's JSON with data and any top-level field
// overridden.
func envelope(typ, orderID string, data map[string]any, overrides map[string]any) string {
	e := map[string]any{"event_id": uuid.NewString(), "type": typ, "order_id": orderID, "widget_id": "w-1",
		"occurred_at": storetest.T0.Format(time.RFC3339), "data": data}
	for k, v := range overrides {
		e[k] = v
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func callback(more map[string]any) map[string]any {
	d := map[string]any{"kind": "callback", "client_phone": "79161234567"}
	for k, v := range more {
		d[k] = v
	}
	return d
}

// damagedRecords are one of each kind of record the projection cannot
// apply: a value the read models cannot hold, a record of a newer
// version, a damaged one.
func damagedRecords() []damagedRecord {
	year0 := map[string]any{"occurred_at": "0000-01-01T00:00:00Z"}
	return []damagedRecord{
		{what: "not an object: a JSON string holding broken JSON", payload: `"{\"type\": \"call.ordered\", \"order_id\": \"q-json\""`},
		{what: "a field of the wrong type", orderID: "q-type", payload: envelope("call.dialed", "q-type", map[string]any{"attempt": "one"}, nil)},
		{what: "occurred_at in year 0", orderID: "q-year0", payload: envelope("call.ordered", "q-year0", callback(nil), year0), asEvent: true},
		{what: "scheduled_at in year 0", orderID: "q-sched", asEvent: true,
			payload: envelope("call.ordered", "q-sched", callback(map[string]any{"scheduled_at": "0000-06-01T00:00:00Z"}), nil)},
		{what: "a call.answered in year 0 of a valid order", orderID: "o-3", asEvent: true,
			payload: envelope("call.answered", "o-3", map[string]any{"attempt": 1}, map[string]any{"occurred_at": "0001-01-01T00:00:00+01:00"})},
		{what: "a call event of an unknown type", orderID: "q-unknown", asEvent: true, payload: envelope("call.transferred", "q-unknown", map[string]any{"attempt": 1}, nil)},
		{what: "a record type of a newer version", orderID: "q-newer", payload: `{"type": "order.archived", "order_id": "q-newer"}`},
		{what: "a JSON array", payload: `[{"type": "call.ordered", "order_id": "q-array"}]`},
	}
}

// appendDamaged writes a damaged record straight into the log and returns
// its position.
func appendDamaged(t *testing.T, db *sql.DB, r damagedRecord) int64 {
	t.Helper()
	var pos int64
	if err := db.QueryRow(`INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
		VALUES (gen_random_uuid()::text, $1::jsonb, '{}', pg_current_xact_id()) RETURNING "offset"`, r.payload).Scan(&pos); err != nil {
		t.Fatalf("write %s into the log: %v", r.what, err)
	}
	return pos
}

// validHistory is valid orders, in the order they are logged around the
// damaged records: chunk i goes before damaged record i.
func validHistory() [][]domain.CallEvent {
	return [][]domain.CallEvent{
		{storetest.Ordered("o-1", "w-1"), storetest.Failed("o-1", "w-1", 1)},
		{storetest.Answered("o-1", "w-1", 2)},
		{storetest.Ordered("o-2", "w-1")},
		{storetest.Failed("o-2", "w-1", 1), storetest.Ordered("o-3", "w-1")},
		{storetest.Answered("o-2", "w-1", 2)},
		{storetest.Ordered("o-4", "w-1"), storetest.LastAttempt("o-2", "w-1", 2)},
		{storetest.Answered("o-4", "w-1", 1)},
		{storetest.Ordered("o-5", "w-1"), storetest.Answered("o-5", "w-1", 1)},
		{storetest.Failed("o-4", "w-1", 2)},
	}
}

// decided is what the projection made of the valid orders, without what
// differs between two logs of the same events (positions, record times).
func decided(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	return map[string][]string{
		"policies": testkit.Texts(t, db, `SELECT concat_ws('|', widget_id, version, policy, token_masked) FROM ctj_policy_versions ORDER BY 1`),
		"orders": testkit.Texts(t, db, `SELECT concat_ws('|', order_id, widget_id, policy_version, placed, kind, has_session_id, ordered_at, scheduled_at)
			FROM ctj_orders ORDER BY 1`),
		"events": testkit.Texts(t, db, `SELECT concat_ws('|', event_id, order_id, type, attempt, occurred_at, note) FROM ctj_order_events ORDER BY seq`),
		"decisions": testkit.Texts(t, db, `SELECT concat_ws('|', order_id, attempt, decision, key, reason, warnings, policy_version, payload, decided_by, status)
			FROM ctj_decisions ORDER BY order_id, attempt`),
		"queue": testkit.Texts(t, db, `SELECT concat_ws('|', key, order_id, payload, status) FROM ctj_deliveries ORDER BY 1`),
	}
}

func wantSameDecided(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for _, part := range []string{"policies", "orders", "events", "decisions", "queue"} {
		if !slices.Equal(got[part], want[part]) {
			t.Fatalf("%s differ from a log without the damaged records:\n%s\nwant:\n%s", part, testkit.JoinLines(got[part]), testkit.JoinLines(want[part]))
		}
	}
}

// Damaged records between valid ones, all in the projection's first
// batch: each is set aside with its error, and the valid orders around
// them are decided exactly as if they were not in the log. The order a
// record names explains it; retried, a record still damaged stays aside;
// a rebuild sets the same records aside and finishes, even with the
// quarantine emptied.
func TestProjection_SetsDamagedRecordsAsideAndDecidesTheRestAsIfTheyWereNotThere(t *testing.T) {
	t.Parallel()
	history, damaged := validHistory(), damagedRecords()

	clean := testkit.NewStore(t)
	testkit.SetValidPolicy(t, clean, "w-1", nil)
	for _, chunk := range history {
		testkit.Ingest(t, clean, chunk...)
	}
	testkit.StartProjection(t, clean.DB, time.Hour)
	testkit.Settle(t, clean.DB)

	s := testkit.NewStore(t)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	positions := map[int64]damagedRecord{}
	for i, chunk := range history {
		testkit.Ingest(t, s, chunk...)
		if i < len(damaged) {
			positions[appendDamaged(t, s.DB, damaged[i])] = damaged[i]
		}
	}
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.Settle(t, s.DB)
	wantSameDecided(t, decided(t, s.DB), decided(t, clean.DB))

	quarantine := quarantine.NewQuarantine(s.DB)
	aside, err := app.NewListQuarantined(quarantine).Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(aside) != len(damaged) {
		t.Fatalf("%d records set aside, want the %d damaged ones: %+v", len(aside), len(damaged), aside)
	}
	for _, r := range aside {
		d, ok := positions[r.Position]
		if !ok || r.OrderID != d.orderID || r.Error == "" || r.At.IsZero() || strings.Contains(r.Error, "\n") {
			t.Errorf("set aside: position %d, order %q, error %q at %s; want %s naming order %q with a one-line error",
				r.Position, r.OrderID, r.Error, r.At, d.what, d.orderID)
		}
	}
	if n, err := quarantine.Count(context.Background()); err != nil || n != int64(len(damaged)) {
		t.Fatalf("quarantine count %d, %v; want %d", n, err, len(damaged))
	}

	explain := app.NewExplainOrder(s.Queries, quarantine, s.Policies)
	for pos, d := range positions {
		if d.orderID == "" {
			continue
		}
		x, err := explain.Handle(context.Background(), d.orderID)
		if err != nil {
			t.Fatalf("explain %s, which %s names: %v", d.orderID, d.what, err)
		}
		var shown bool
		for _, e := range x.Events {
			shown = shown || e.Position == pos && e.Quarantined && e.Note != nil && strings.Contains(*e.Note, "set aside")
		}
		for _, q := range x.Quarantined {
			shown = shown || q.Position == pos && q.Error != ""
		}
		if !shown || d.asEvent != slices.ContainsFunc(x.Events, func(e app.ExplainedEvent) bool { return e.Position == pos }) {
			t.Errorf("explanation of %s does not show %s (position %d) as it should (among the events: %v): %+v",
				d.orderID, d.what, pos, d.asEvent, x)
		}
	}

	retry := app.NewRetryQuarantined(quarantine, app.NewProjectRecord(projection.NewReadModel(s.DB), projection.NewOutbox(s.DB, time.Hour)))
	var year0 int64
	for pos, d := range positions {
		if d.orderID == "q-year0" {
			year0 = pos
		}
	}
	outcomes, err := retry.Handle(context.Background(), []int64{year0})
	if err != nil || len(outcomes) != 1 || outcomes[0].Applied || !strings.Contains(outcomes[0].Error, "out of range") {
		t.Fatalf("retry of the year-0 order: %+v, %v; want it still aside, out of range", outcomes, err)
	}
	if outcomes, err = retry.Handle(context.Background(), nil); err != nil || len(outcomes) != len(damaged) ||
		slices.ContainsFunc(outcomes, func(o app.ReapplyOutcome) bool { return o.Applied }) {
		t.Fatalf("retry of them all: %+v, %v; want every one still aside", outcomes, err)
	}
	if _, err := retry.Handle(context.Background(), []int64{1 << 40}); err == nil {
		t.Fatal("retry of a position not set aside: no error")
	}
	wantSameDecided(t, decided(t, s.DB), decided(t, clean.DB))
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_poison`); n != len(damaged) {
		t.Fatalf("%d records set aside after the retries, want %d", n, len(damaged))
	}

	before := testkit.Dump(t, s.DB)
	if res := testkit.Rebuild(t, s.DB, rebuild.Config{}); res.Skipped != int64(len(damaged)) {
		t.Fatalf("rebuild: %+v, want the %d damaged records skipped", res, len(damaged))
	}
	testkit.SameDump(t, before, testkit.Dump(t, s.DB))
	// Without the quarantine to go by, the rebuild finds them itself.
	if _, err := s.DB.Exec(`DELETE FROM ctj_poison`); err != nil {
		t.Fatal(err)
	}
	if res := testkit.Rebuild(t, s.DB, rebuild.Config{}); res.Skipped != int64(len(damaged)) {
		t.Fatalf("rebuild without the quarantine: %+v, want the %d damaged records skipped", res, len(damaged))
	}
	testkit.SameDump(t, before, testkit.Dump(t, s.DB))
}

// panickingModels panics folding one order.
type panickingModels struct {
	app.ReadModel
	orderID string
}

func (m panickingModels) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	if orderID == m.orderID {
		panic("a bug folding " + orderID)
	}
	return m.ReadModel.UpdateOrder(ctx, orderID, fold)
}

// A record whose fold panics is set aside with the panic, and the records
// around it are applied.
func TestProjection_SetsAsideARecordWhoseFoldPanics(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1), storetest.Ordered("q-panic", "w-1"),
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1))
	testkit.StartRouter(t, s.DB, app.NewProjectRecord(panickingModels{projection.NewReadModel(s.DB), "q-panic"}, projection.NewOutbox(s.DB, time.Hour)))
	testkit.Settle(t, s.DB)
	aside := testkit.Texts(t, s.DB, `SELECT concat_ws(' | ', order_id, error) FROM ctj_poison`)
	if len(aside) != 1 || !strings.HasPrefix(aside[0], "q-panic | ") || !strings.Contains(aside[0], "a bug folding q-panic") {
		t.Fatalf("set aside: %q, want q-panic with its panic", aside)
	}
	if got := testkit.Texts(t, s.DB, `SELECT key FROM ctj_deliveries ORDER BY 1`); !slices.Equal(got, []string{"o-1~1", "o-2~1"}) {
		t.Fatalf("queued %v, want o-1 and o-2", got)
	}
}

// outageModels fail as an unreachable store does, a number of times.
type outageModels struct {
	app.ReadModel
	failures atomic.Int32
}

func (m *outageModels) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	if m.failures.Add(-1) >= 0 {
		return fmt.Errorf("%w: connection refused", app.ErrUnavailable)
	}
	return m.ReadModel.UpdateOrder(ctx, orderID, fold)
}

// A record that fails because the store cannot be reached is not the
// record's fault: however many times it fails, it is never set aside, and
// it is applied once the store answers.
func TestProjection_NeverSetsAsideARecordTheStoreCouldNotTake(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	models := &outageModels{ReadModel: projection.NewReadModel(s.DB)}
	models.failures.Store(12)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.Ingest(t, s, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))
	testkit.StartRouter(t, s.DB, app.NewProjectRecord(models, projection.NewOutbox(s.DB, time.Hour)))
	testkit.Settle(t, s.DB)
	if models.failures.Load() >= 0 {
		t.Fatalf("the outage ended with %d failures to go", models.failures.Load())
	}
	testkit.WantNothingPoisoned(t, s)
	if got := testkit.Texts(t, s.DB, `SELECT key FROM ctj_deliveries`); !slices.Equal(got, []string{"o-1~1"}) {
		t.Fatalf("queued %v, want o-1~1", got)
	}
}
