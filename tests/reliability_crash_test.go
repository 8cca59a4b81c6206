package tests

import (
	"context"
	"sync"
	"testing"
	"time"
)

// killLoop SIGKILLs one of the serves, picked in turn, n times at random
// moments (gap apart, roughly), and starts it again after a random pause;
// it returns each kill.
func killLoop(t *testing.T, serves []*engine, n int, minGap, maxGap time.Duration) []kill {
	t.Helper()
	var kills []kill
	for i := range n {
		time.Sleep(randBetween(minGap, maxGap))
		victim := serves[i%len(serves)]
		kills = append(kills, victim.sigkill())
		time.Sleep(randBetween(0, 300*time.Millisecond))
		victim.restartAfterKill(t)
	}
	return kills
}

// runLoad runs clients of g until the returned stop is called; stop
// waits until each has its request under way acknowledged (or hard
// passes) and returned.
func runLoad(g *loadGen, clients int, hardLimit time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	hard, hardCancel := context.WithTimeout(context.Background(), hardLimit)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() { g.run(ctx, hard) })
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			hardCancel()
		})
	}
}

// Promise 1 — nothing accepted is lost. Concurrent clients post single
// events and batches while serve is SIGKILLed at random moments and
// started again, several times. Every event answered 202 is in the log
// afterwards, and every lead those events qualify for is decided and
// delivered; Calltouch accepts each key once, save for the crash window
// of docs/calltouch.md (a double send needs a kill of the serve that sent the
// first acceptance, at most crashWindow after it).
func TestReliability_NothingAcceptedIsLost(t *testing.T) {
	// The lease is 2×CTJ_CALLTOUCH_TIMEOUT+5s: a killed serve's claims
	// lapse after 7 s.
	e := startEngine(t, withEnv("CTJ_CALLTOUCH_TIMEOUT", "1s"))
	db := e.openDB(t)
	e.putPolicy("rel-lost-w", policyFor(e.fake, nil))
	g := newLoadGen("rel-lost", "rel-lost-w", e.process)
	g.pause = [2]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}

	stop := runLoad(g, 4, 2*time.Minute)
	defer stop()
	kills := killLoop(t, []*engine{e}, 4, 1500*time.Millisecond, 3500*time.Millisecond)
	g.waitAccepted(t, 8) // some load after the last start too
	stop()

	r := checkDelivered(t, db, g, e.fake, kills, 90*time.Second)
	t.Logf("%d SIGKILLs of serve under load; %s", len(kills), g.summary())
	t.Logf("counts: %s", r)
	t.Logf("answer to record: %s", recordDelays(t, db))
	if r.acked == 0 || r.expected == 0 {
		t.Errorf("no load got through: %s", g.summary())
	}
	if g.unexpected != nil {
		t.Errorf("answers no client should get: %v", g.unexpected)
	}
}
