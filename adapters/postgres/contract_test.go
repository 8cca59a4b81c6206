package postgres_test

import (
	"testing"
	"time"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

func TestEventLogContract(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) app.EventLog {
		db, _ := pgtest.NewDatabase(t)
		log := postgres.NewEventLog(db)
		t.Cleanup(log.Close)
		return log
	})
}

func TestPolicyStoreContract(t *testing.T) {
	storetest.RunPolicyStore(t, func(t *testing.T) app.PolicyStore {
		db, _ := pgtest.NewDatabase(t)
		return postgres.NewPolicies(db)
	})
}

func TestDeliveryQueueContract(t *testing.T) {
	storetest.RunDeliveryQueue(t, func(t *testing.T, giveUpAfter time.Duration) storetest.DeliveryStore {
		db, _ := pgtest.NewDatabase(t)
		return storetest.DeliveryStore{Queue: postgres.NewDeliveries(db), Outbox: postgres.NewOutbox(db, giveUpAfter)}
	})
}

func TestProjectionContract(t *testing.T) {
	storetest.RunProjection(t, newEngine)
}

func TestLeadListingContract(t *testing.T) {
	storetest.RunLeadListing(t, newEngine)
}
