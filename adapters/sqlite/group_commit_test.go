package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/app/storetest"
)

// Appends that wait for the writer are committed in one group: each gets
// the answer it would get alone, in arrival order, and a call that fails
// leaves nothing of its own behind.
func TestGroupCommit_EachCallAnsweredAsAlone(t *testing.T) {
	ctx := context.Background()
	s, log := openAppendStore(t)

	first := storetest.Ordered("o-1", "w-1")
	a := storetest.Batch(t, first, storetest.Dialed("o-1", "w-1", 1), storetest.Answered("o-1", "w-1", 1))
	changed := first
	changed.Order.ClientPhone = "79000000000"
	calls := []struct {
		name     string
		events   []app.NewEvent
		accepted int
		conflict bool
	}{
		{"new order", a, 3, false},
		{"its resend", a, 0, false},
		{"a new order and another content for an event of the first", storetest.Batch(t, storetest.Ordered("o-3", "w-1"), changed), 0, true},
		{"the first order under another widget", storetest.Batch(t, storetest.Dialed("o-1", "w-2", 2)), 0, true},
		{"another new order", storetest.Batch(t, storetest.Ordered("o-2", "w-1"), storetest.Dialed("o-2", "w-1", 1)), 2, false},
	}

	// Some call holds the writer: the appends queue, in this order.
	s.groups.mu.Lock()
	s.groups.leading = true
	s.groups.mu.Unlock()
	type answer struct {
		res app.AppendResult
		err error
	}
	answers := make([]chan answer, len(calls))
	for i, c := range calls {
		answers[i] = make(chan answer, 1)
		go func() {
			res, err := log.Append(ctx, c.events)
			answers[i] <- answer{res, err}
		}()
		waitFor(t, func() bool { n, _ := s.groups.state(); return n == i+1 })
	}
	// It is done: the first waiting call commits the group.
	s.groups.mu.Lock()
	s.groups.waiting[0].lead <- struct{}{}
	s.groups.mu.Unlock()

	for i, c := range calls {
		got := <-answers[i]
		var conflict *app.ConflictError
		switch {
		case c.conflict && !errors.As(got.err, &conflict):
			t.Errorf("%s: %v, want a conflict", c.name, got.err)
		case !c.conflict && got.err != nil:
			t.Errorf("%s: %v", c.name, got.err)
		case !c.conflict && (got.res.Accepted != c.accepted || got.res.Duplicates != len(c.events)-c.accepted):
			t.Errorf("%s: stored %d, %d duplicates; want %d, %d", c.name, got.res.Accepted, got.res.Duplicates, c.accepted, len(c.events)-c.accepted)
		}
	}
	if n, leading := s.groups.state(); leading || n > 0 {
		t.Fatalf("after the group: leading %v, %d waiting", leading, n)
	}
	var records, orders int
	if err := s.read.QueryRow(`SELECT count(*) FROM ctj_log`).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT count(*) FROM ctj_order_widgets`).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	if records != 5 || orders != 2 {
		t.Fatalf("the log holds %d records and %d orders, want 5 and 2", records, orders)
	}

	// A lone append commits at once, and a resend of the group's events is
	// known.
	res, err := log.Append(ctx, append(a, calls[4].events...))
	if err != nil || res.Accepted != 0 || res.Duplicates != 5 {
		t.Fatalf("resend after the group: %+v, %v; want 5 duplicates", res, err)
	}
}

// openAppendStore opens a store in a fresh directory, closed when the test
// ends, and its event log.
func openAppendStore(t *testing.T) (*Store, app.EventLog) {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Ports().EventLog
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

func (g *appendGroups) state() (waiting int, leading bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting), g.leading
}

// A group whose commit fails stores nothing, and every call in it gets the
// error, marked unavailable, rather than an answer judged on events that
// never reached the file; the appends after it are stored as usual.
func TestGroupCommit_FailedCommitFailsEveryCall(t *testing.T) {
	ctx := context.Background()
	s, log := openAppendStore(t)
	// A deferred foreign key is checked at the commit: a trigger that
	// breaks it for order o-doomed makes that commit fail.
	for _, stmt := range []string{
		`CREATE TABLE doom_parent (id TEXT PRIMARY KEY)`,
		`CREATE TABLE doom_child (parent TEXT REFERENCES doom_parent (id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TRIGGER doom AFTER INSERT ON ctj_order_widgets WHEN new.order_id = 'o-doomed'
			BEGIN INSERT INTO doom_child (parent) VALUES ('nobody'); END`,
	} {
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}

	s.groups.mu.Lock()
	s.groups.leading = true
	s.groups.mu.Unlock()
	batches := [][]app.NewEvent{
		storetest.Batch(t, storetest.Ordered("o-fine", "w-1")),
		storetest.Batch(t, storetest.Ordered("o-doomed", "w-1")),
	}
	answers := make([]chan error, len(batches))
	for i, b := range batches {
		answers[i] = make(chan error, 1)
		go func() {
			_, err := log.Append(ctx, b)
			answers[i] <- err
		}()
		waitFor(t, func() bool { n, _ := s.groups.state(); return n == i+1 })
	}
	s.groups.mu.Lock()
	s.groups.waiting[0].lead <- struct{}{}
	s.groups.mu.Unlock()
	for i := range batches {
		if err := <-answers[i]; !errors.Is(err, app.ErrUnavailable) {
			t.Errorf("call %d of the failed group: %v, want unavailable", i, err)
		}
	}
	var records int
	if err := s.read.QueryRow(`SELECT count(*) FROM ctj_log`).Scan(&records); err != nil {
		t.Fatal(err)
	}
	if records != 0 {
		t.Fatalf("the failed group left %d records in the log", records)
	}

	res, err := log.Append(ctx, batches[0])
	if err != nil || res.Accepted != 1 {
		t.Fatalf("the first call's events again, alone: %+v, %v; want 1 stored", res, err)
	}
}
