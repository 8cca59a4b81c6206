package sqlite_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/sqlite"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// failingReadModel folds orders through the store's read model and then
// fails some of them, after the fold was written: a failed try must leave
// nothing behind. It counts the tries per order.
type failingReadModel struct {
	app.ReadModel
	fail func(orderID string, try int) bool

	mu    sync.Mutex
	tries map[string]int
}

func (m *failingReadModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	m.mu.Lock()
	m.tries[orderID]++
	try := m.tries[orderID]
	m.mu.Unlock()
	if err := m.ReadModel.UpdateOrder(ctx, orderID, fold); err != nil {
		return err
	}
	if m.fail(orderID, try) {
		return errors.New("read model refused " + orderID)
	}
	return nil
}

func (m *failingReadModel) triesOf(orderID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tries[orderID]
}

// startFailingEngine runs the projection of a fresh store through a read
// model that fails as fail says, with a policy on widget w-1.
func startFailingEngine(t *testing.T, fail func(orderID string, try int) bool) (app.Ports, *failingReadModel) {
	t.Helper()
	var model *failingReadModel
	ports := startEngine(t, sqlite.ProjectionConfig{PollInterval: 10 * time.Millisecond}, func(ports *app.Ports) {
		model = &failingReadModel{ReadModel: ports.ReadModel, fail: fail, tries: map[string]int{}}
		ports.ReadModel = model
	})
	return ports, model
}

// startEngine runs the projection of a fresh store with cfg, through the
// ports as wrap leaves them, with a policy on widget w-1.
func startEngine(t *testing.T, cfg sqlite.ProjectionConfig, wrap func(*app.Ports)) app.Ports {
	t.Helper()
	s := newStore(t, time.Hour)
	ports := s.Ports()
	wrap(&ports)
	startProjectionWith(t, s, ports, cfg)
	if _, err := app.NewSetPolicy(ports.Policies, storetest.AllowedHosts()).Handle(context.Background(), "w-1", storetest.ValidPolicy()); err != nil {
		t.Fatal(err)
	}
	return ports
}

func ingestAndSettle(t *testing.T, ports app.Ports, events ...domain.CallEvent) {
	t.Helper()
	if _, err := app.NewIngestEvents(ports.EventLog).Handle(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	settle(t, ports.Status)
}

// queuedLeads are the keys of the leads the queue holds, each claimed once.
func queuedLeads(t *testing.T, ports app.Ports) []string {
	t.Helper()
	now := time.Now().Add(time.Minute)
	claimed, err := ports.DeliveryQueue.Claim(context.Background(), "test", now, now.Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range claimed {
		keys = append(keys, string(l.Key))
	}
	slices.Sort(keys)
	return keys
}

func quarantinedOrders(t *testing.T, ports app.Ports) []app.QuarantinedRecord {
	t.Helper()
	recs, err := ports.Quarantine.Quarantined(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A record that fails once is tried again, from a clean state, and
// applied: nothing is set aside and its lead is queued once.
func TestProjection_RecordFailingOnceIsAppliedNotSetAside(t *testing.T) {
	t.Parallel()
	ports, model := startFailingEngine(t, func(orderID string, try int) bool { return orderID == "o-1" && try == 2 })
	ingestAndSettle(t, ports, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))

	if recs := quarantinedOrders(t, ports); len(recs) != 0 {
		t.Fatalf("set aside: %+v, want nothing", recs)
	}
	if got := model.triesOf("o-1"); got != 3 {
		t.Fatalf("o-1 folded %d times, want 3: its order, its answer failed once and tried again", got)
	}
	if got, want := queuedLeads(t, ports), []string{"o-1~1"}; !slices.Equal(got, want) {
		t.Fatalf("queued leads %v, want %v", got, want)
	}
}

// A record that always fails is tried three times, 50 and 100 ms apart,
// then set aside; the records around it, in the same batch, are applied
// once each.
func TestProjection_RecordAlwaysFailingIsSetAsideAfterItsRetries(t *testing.T) {
	t.Parallel()
	ports, model := startFailingEngine(t, func(orderID string, _ int) bool { return orderID == "o-bad" })
	start := time.Now()
	ingestAndSettle(t, ports,
		storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1),
		storetest.Ordered("o-bad", "w-1"), storetest.Answered("o-bad", "w-1", 1),
		storetest.Ordered("o-2", "w-1"), storetest.Answered("o-2", "w-1", 1))

	recs := quarantinedOrders(t, ports)
	if len(recs) != 2 {
		t.Fatalf("set aside: %+v, want o-bad's two records", recs)
	}
	for _, r := range recs {
		if r.OrderID != "o-bad" || !strings.Contains(r.Error, "read model refused o-bad") {
			t.Fatalf("set aside: %+v, want o-bad's records with the read model's error", r)
		}
	}
	if got := model.triesOf("o-bad"); got != 6 {
		t.Fatalf("o-bad's two records tried %d times, want 3 each", got)
	}
	if took := time.Since(start); took < 2*150*time.Millisecond {
		t.Fatalf("both records set aside within %s, want each after 50 and 100 ms of backoff", took)
	}
	tries := map[string]int{"o-1": model.triesOf("o-1"), "o-2": model.triesOf("o-2")}
	if want := map[string]int{"o-1": 2, "o-2": 2}; !maps.Equal(tries, want) {
		t.Fatalf("folds per valid order %v, want each record once: %v", tries, want)
	}
	if got, want := queuedLeads(t, ports), []string{"o-1~1", "o-2~1"}; !slices.Equal(got, want) {
		t.Fatalf("queued leads %v, want %v", got, want)
	}
}

// slowOutbox queues leads through the store's outbox, but the first lead
// of an order only after a pause: the record is folded and written, and
// its lead not yet queued, when the pause runs past the ack deadline.
type slowOutbox struct {
	app.Outbox
	pause time.Duration
	once  sync.Once
}

func (o *slowOutbox) Enqueue(ctx context.Context, lead app.Lead) error {
	o.once.Do(func() { time.Sleep(o.pause) })
	return o.Outbox.Enqueue(ctx, lead)
}

// A record still being applied when the subscriber gives it up (its ack
// deadline passed) is undone whole before the batch commits without it,
// and applied whole when offered again: its lead is queued, once. Were
// the batch committed under the record, its decision would be stored and
// its lead not, and the record, offered again, would find its event
// folded already and queue nothing.
func TestProjection_RecordGivenUpMidwayIsAppliedWholeLater(t *testing.T) {
	t.Parallel()
	const deadline = 100 * time.Millisecond
	ports := startEngine(t, sqlite.ProjectionConfig{PollInterval: 10 * time.Millisecond, AckDeadline: deadline}, func(ports *app.Ports) {
		ports.Outbox = &slowOutbox{Outbox: ports.Outbox, pause: 3 * deadline}
	})
	ingestAndSettle(t, ports, storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1))

	if got, want := queuedLeads(t, ports), []string{"o-1~1"}; !slices.Equal(got, want) {
		t.Fatalf("queued leads %v, want %v", got, want)
	}
	if recs := quarantinedOrders(t, ports); len(recs) != 0 {
		t.Fatalf("set aside: %+v, want nothing", recs)
	}
}
