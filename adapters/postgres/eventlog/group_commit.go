package eventlog

// Group commit: the calls that arrive while groups are in flight gather
// into the next group, which one statement (or, when something in it is
// known already, one transaction) stores.
//
// A small group waits until no group is in flight. Each group's commit
// waits for its WAL flush, most of a small group's time; groups that start
// side by side would each wait for a flush of their own, while one that
// waits takes every call that arrived meanwhile into one statement and one
// flush. A large group gains nothing by waiting: the flush is a small part
// of its time, and groups side by side use the cores PostgreSQL has.
const (
	maxGroupsInFlight = 4
	maxGroupEvents    = 2000
	// overlapGroupEvents is the least a group holds to start beside others.
	overlapGroupEvents = 100
)

// groupForming is the calls waiting for a group, and how many groups are
// in flight.
type groupForming struct {
	waiting  []*appendCall
	events   int // in waiting
	inFlight int
}

func (f *groupForming) add(c *appendCall) {
	f.waiting = append(f.waiting, c)
	f.events += len(c.events)
}

// next takes the next group to start, in arrival order, and counts it in
// flight; nil when none is to start now.
func (f *groupForming) next() []*appendCall {
	if len(f.waiting) == 0 || f.inFlight >= maxGroupsInFlight ||
		(f.inFlight > 0 && f.events < overlapGroupEvents) {
		return nil
	}
	n, events := 0, 0
	for n < len(f.waiting) && events < maxGroupEvents {
		events += len(f.waiting[n].events)
		n++
	}
	group := f.waiting[:n:n]
	f.waiting = f.waiting[n:]
	f.events -= events
	f.inFlight++
	return group
}

// done counts a group out of flight.
func (f *groupForming) done() { f.inFlight-- }

// formGroups takes the calls and starts their groups until the log is
// closed, then stores what it has taken and returns once every group is
// done.
func (l *EventLog) formGroups() {
	var f groupForming
	finished := make(chan struct{})
	calls, stop := l.calls, l.stop
	for calls != nil || len(f.waiting) > 0 || f.inFlight > 0 {
		for group := f.next(); group != nil; group = f.next() {
			go func() {
				l.commit(group)
				finished <- struct{}{}
			}()
		}
		select {
		case c := <-calls:
			f.add(c)
		case <-finished:
			f.done()
		case <-stop:
			// Append refuses calls from now on; those taken are stored.
			calls, stop = nil, nil
		}
	}
}
