package postgres_test

import (
	"testing"

	"ctjournal/adapters/postgres"
	"ctjournal/adapters/postgres/pgtest"
	"ctjournal/app"
	"ctjournal/app/storetest"
)

func TestEventLogContract(t *testing.T) {
	storetest.RunEventLog(t, func(t *testing.T) app.EventLog {
		db, _ := pgtest.NewDatabase(t)
		return postgres.NewEventLog(db)
	})
}

func TestPolicyStoreContract(t *testing.T) {
	storetest.RunPolicyStore(t, func(t *testing.T) app.PolicyStore {
		db, _ := pgtest.NewDatabase(t)
		return postgres.NewPolicies(db)
	})
}
