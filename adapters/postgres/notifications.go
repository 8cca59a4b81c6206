package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"

	"github.com/lib/pq"
)

// Notifications turns PostgreSQL NOTIFYs into wake-ups: one channel per
// listened name, each holding at most one pending wake-up. A reconnect
// wakes everyone, since notifications sent meanwhile were lost.
type Notifications struct {
	listener *pq.Listener
	wakes    map[string]chan struct{}
}

// Listen opens a dedicated connection listening on the given channels.
func Listen(databaseURL string, log *slog.Logger, channels ...string) (*Notifications, error) {
	dsn, err := withUTC(databaseURL, nil)
	if err != nil {
		return nil, err
	}
	n := &Notifications{wakes: map[string]chan struct{}{}}
	for _, c := range channels {
		n.wakes[c] = make(chan struct{}, 1)
	}
	n.listener = pq.NewListener(dsn, 50*time.Millisecond, 2*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("notification listener", "event", int(ev), "err", err)
		}
	})
	for _, c := range channels {
		if err := n.listener.Listen(c); err != nil {
			n.listener.Close()
			return nil, fmt.Errorf("listen %s: %w", c, err)
		}
	}
	return n, nil
}

// Wake is the wake-up channel of one listened name.
func (n *Notifications) Wake(channel string) <-chan struct{} { return n.wakes[channel] }

// Run delivers wake-ups until ctx ends.
func (n *Notifications) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case note := <-n.listener.Notify:
			for name, w := range n.wakes {
				if note == nil || note.Channel == name {
					pgdb.Wake(w)
				}
			}
		}
	}
}

// HearLocally also wakes the listeners on what this process commits
// through db, at once rather than through PostgreSQL's NOTIFY.
func (n *Notifications) HearLocally(db *sql.DB) {
	for name, w := range n.wakes {
		pgdb.NotifierOf(db).Listen(name, w)
	}
}

// Close stops listening.
func (n *Notifications) Close() error { return n.listener.Close() }

// Channels the store notifies on commit, for Listen.
const (
	ChannelLog        = pgdb.ChannelLog
	ChannelDeliveries = pgdb.ChannelDeliveries
)
