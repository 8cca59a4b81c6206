package sqlite

import (
	"database/sql"
	"sync"

	"ctjournal/domain"
)

// foldedOrders keeps the state of each order the projection folded in its
// transaction under way, so that the order's next record in the batch
// folds on it instead of reading the order back (three queries). It holds
// for that one transaction only, and is forgotten whole when a record of
// it fails: the record's savepoint is undone, and with it what the record
// folded. Other transactions (a rebuild, a quarantine retry) never see it.
type foldedOrders struct {
	mu     sync.Mutex
	tx     *sql.Tx
	states map[string]domain.OrderState
}

// track makes tx the projection's transaction under way.
func (f *foldedOrders) track(tx *sql.Tx) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tx != tx {
		f.tx, f.states = tx, map[string]domain.OrderState{}
	}
}

// forget drops every state kept.
func (f *foldedOrders) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = map[string]domain.OrderState{}
}

func (f *foldedOrders) get(tx *sql.Tx, orderID string) (domain.OrderState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tx != tx {
		return domain.OrderState{}, false
	}
	s, ok := f.states[orderID]
	return s, ok
}

func (f *foldedOrders) put(tx *sql.Tx, s domain.OrderState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tx == tx {
		f.states[s.OrderID] = s
	}
}
