package pgdb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// notifier sends the NOTIFYs of committed transactions off the request
// path, one per channel however many commits asked for it meanwhile.
// Best effort: a lost wake-up costs one poll interval, never data.
// Listeners in this process (Notifications.HearLocally) are woken at once,
// without the round trip through PostgreSQL; other processes by NOTIFY.
type notifier struct {
	db      *sql.DB
	mu      sync.Mutex
	pending map[string]bool
	running bool
	local   map[string][]chan<- struct{}
}

var notifiers sync.Map // *sql.DB → *notifier

func NotifierOf(db *sql.DB) *notifier {
	n, _ := notifiers.LoadOrStore(db, &notifier{db: db, pending: map[string]bool{}, local: map[string][]chan<- struct{}{}})
	return n.(*notifier)
}

func (n *notifier) Poke(channel string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, w := range n.local[channel] {
		Wake(w)
	}
	n.pending[channel] = true
	if !n.running {
		n.running = true
		go n.flush()
	}
}

// notifyGap spaces the NOTIFYs of one process: under load the commits of
// a few milliseconds share one, and other processes still wake within it.
const notifyGap = 5 * time.Millisecond

// flush sends until nothing is pending, then ends; the next poke starts it
// again, so no goroutine outlives the work.
func (n *notifier) flush() {
	for {
		n.mu.Lock()
		channels := n.pending
		if len(channels) == 0 {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.pending = map[string]bool{}
		n.mu.Unlock()
		for channel := range channels {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = n.db.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel)
			cancel()
		}
		time.Sleep(notifyGap) // the pokes meanwhile share the next round
	}
}

// listen wakes w whenever channel is poked in this process.
func (n *notifier) Listen(channel string, w chan<- struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.local[channel] = append(n.local[channel], w)
}

// wake leaves a wake-up in w unless one is pending already.
func Wake(w chan<- struct{}) {
	select {
	case w <- struct{}{}:
	default:
	}
}
