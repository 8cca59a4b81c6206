package postgres_test

import (
	"testing"
	"time"

	"ctjournal/adapters/postgres/eventlog"
	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/adapters/postgres/projection"
	"ctjournal/adapters/postgres/queue"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

func TestEventLogContract(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) app.EventLog {
		db, _ := pgtest.NewDatabase(t)
		log := eventlog.NewEventLog(db)
		t.Cleanup(log.Close)
		return log
	})
}

func TestPolicyStoreContract(t *testing.T) {
	storetest.RunPolicyStore(t, func(t *testing.T) app.PolicyStore {
		db, _ := pgtest.NewDatabase(t)
		return eventlog.NewPolicies(db)
	})
}

func TestDeliveryQueueContract(t *testing.T) {
	storetest.RunDeliveryQueue(t, func(t *testing.T, giveUpAfter time.Duration) storetest.DeliveryStore {
		db, _ := pgtest.NewDatabase(t)
		return storetest.DeliveryStore{Queue: queue.NewDeliveries(db), Outbox: projection.NewOutbox(db, giveUpAfter)}
	})
}

func TestProjectionContract(t *testing.T) {
	storetest.RunProjection(t, testkit.NewEngine)
}

func TestLeadListingContract(t *testing.T) {
	storetest.RunLeadListing(t, testkit.NewEngine)
}

func TestWidgetHistoryContract(t *testing.T) {
	storetest.RunWidgetHistory(t, testkit.NewEngine)
}
