package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"ctjournal/app"
)

// Group commit: the appends that arrive while one holds the file's writer
// wait, then are written together in one transaction, each in a savepoint
// of its own, and flushed once. One append's failure (a conflict) undoes
// its savepoint only; every caller gets its own answer, once the commit
// that holds its events is on disk.
//
// There is no goroutine of its own: the first append to find the writer
// free commits what is waiting, itself first, and hands the turn to the
// first append that arrived meanwhile. A lone append so commits at once.

// maxGroupEvents bounds the events of one group, so that the projection
// gets the writer between groups under a steady stream.
const maxGroupEvents = 10_000

// appendCall is one Append, judged off the writer against known, waiting
// for its group.
type appendCall struct {
	events []app.NewEvent
	known  knownEvents
	result app.AppendResult
	err    error
	lead   chan struct{} // the call's turn to commit a group
	done   chan struct{} // closed once the call's outcome is set
}

// appendGroups is the appends waiting for the writer.
type appendGroups struct {
	mu      sync.Mutex
	waiting []*appendCall
	leading bool // some call commits a group now
}

// join queues c and returns once its group is committed or failed.
func (s *Store) join(ctx context.Context, c *appendCall) {
	g := &s.groups
	g.mu.Lock()
	g.waiting = append(g.waiting, c)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-c.done:
			return
		case <-c.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	s.commitGroup(ctx, g.take())
	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].lead <- struct{}{}
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// take takes the next group, in arrival order: the leading call first.
func (g *appendGroups) take() []*appendCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, events := 0, 0
	for n < len(g.waiting) && (n == 0 || events+len(g.waiting[n].events) <= maxGroupEvents) {
		events += len(g.waiting[n].events)
		n++
	}
	group := g.waiting[:n:n]
	g.waiting = g.waiting[n:]
	return group
}

// commitGroup writes group in one transaction and sets each call's
// outcome. A call once taken is the group's: one caller's cancellation
// does not undo the others'.
func (s *Store) commitGroup(ctx context.Context, group []*appendCall) {
	defer func() {
		for _, c := range group {
			close(c.done)
		}
	}()
	var (
		stored   storedIDs
		from, to int64 // the log's last offset before and after the group
	)
	err := s.inTx(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) (err error) {
		if from, err = lastOffset(ctx, s.prepared(tx)); err != nil {
			return err
		}
		for _, c := range group {
			var ids storedIDs
			c.err = inSavepoint(ctx, s.prepared(tx), func() (err error) {
				c.result, ids, err = s.appendJudged(ctx, tx, c.events, &c.known)
				return err
			})
			if c.err != nil {
				c.result, ids = app.AppendResult{}, storedIDs{}
			}
			stored.events, stored.orders = append(stored.events, ids.events...), append(stored.orders, ids.orders...)
		}
		to, err = lastOffset(ctx, s.prepared(tx))
		return err
	})
	if err != nil {
		// Nothing of the group is stored, and the answers judged inside it
		// may have leaned on events that are not: every call fails alike.
		for _, c := range group {
			c.result, c.err = app.AppendResult{}, err
		}
		return
	}
	if len(stored.events) > 0 {
		s.seen.appended(from, to, stored.events, stored.orders)
		s.pokeProjection()
	}
}
