package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"

	"ctjournal/adapters/sqlite"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

// newStore opens a fresh store in its own directory.
func newStore(t *testing.T, giveUpAfter time.Duration) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), giveUpAfter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEventLogContract(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) app.EventLog { return newStore(t, time.Hour).Ports().EventLog })
}

func TestPolicyStoreContract(t *testing.T) {
	storetest.RunPolicyStore(t, func(t *testing.T) app.PolicyStore { return newStore(t, time.Hour).Ports().Policies })
}

func TestDeliveryQueueContract(t *testing.T) {
	storetest.RunDeliveryQueue(t, func(t *testing.T, giveUpAfter time.Duration) storetest.DeliveryStore {
		p := newStore(t, giveUpAfter).Ports()
		return storetest.DeliveryStore{Queue: p.DeliveryQueue, Outbox: p.Outbox}
	})
}

func TestProjectionContract(t *testing.T) {
	storetest.RunProjection(t, newEngine)
}

func TestLeadListingContract(t *testing.T) {
	storetest.RunLeadListing(t, newEngine)
}

func TestWidgetHistoryContract(t *testing.T) {
	storetest.RunWidgetHistory(t, newEngine)
}

// newEngine is the whole store with its projection running.
func newEngine(t *testing.T, giveUpAfter time.Duration) storetest.Engine {
	s := newStore(t, giveUpAfter)
	ports := s.Ports()
	startProjection(t, s, ports)
	return storetest.Engine{
		Log: ports.EventLog, Policies: ports.Policies, Queue: ports.DeliveryQueue, Queries: ports.Queries,
		Quarantine: ports.Quarantine,
		Settle:     func(t *testing.T) { settle(t, ports.Status) },

		PolicyVersions: ports.PolicyVersions,
		LeadsPerDay:    ports.LeadsPerDay,
	}
}

func startProjection(t *testing.T, s *sqlite.Store, ports app.Ports) {
	t.Helper()
	startProjectionWith(t, s, ports, sqlite.ProjectionConfig{PollInterval: 10 * time.Millisecond})
}

func startProjectionWith(t *testing.T, s *sqlite.Store, ports app.Ports, cfg sqlite.ProjectionConfig) {
	t.Helper()
	application, err := app.NewApplication(ports, app.Config{AllowedHosts: storetest.AllowedHosts()})
	if err != nil {
		t.Fatal(err)
	}
	router, err := s.NewProjectionRouter(application.Projection, cfg, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- router.Run(ctx) }()
	<-router.Running()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projection: %v", err)
		}
	})
}

// settle waits until the projection has folded everything logged so far.
func settle(t *testing.T, status app.StatusReader) {
	t.Helper()
	for {
		st, err := status.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Projection.BehindRecords == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
