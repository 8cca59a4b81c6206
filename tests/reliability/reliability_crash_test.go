package reliability

import (
	"context"
	"sync"
	"testing"
	"time"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"
)

// killLoop SIGKILLs one of the serves, picked in turn, n times at random
// moments (gap apart, roughly), and starts it again after a random pause;
// it returns each kill.
func killLoop(t *testing.T, serves []*harness.Engine, n int, minGap, maxGap time.Duration) []harness.Kill {
	t.Helper()
	var kills []harness.Kill
	for i := range n {
		time.Sleep(loadgen.RandBetween(minGap, maxGap))
		victim := serves[i%len(serves)]
		kills = append(kills, victim.SigKill())
		time.Sleep(loadgen.RandBetween(0, 300*time.Millisecond))
		victim.RestartAfterKill(t)
	}
	return kills
}

// runLoad runs clients of g until the returned stop is called; stop
// waits until each has its request under way acknowledged (or hard
// passes) and returned.
func runLoad(g *loadgen.LoadGen, clients int, hardLimit time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	hard, hardCancel := context.WithTimeout(context.Background(), hardLimit)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() { g.Run(ctx, hard) })
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
// first acceptance, at most CrashWindow after it).
func TestReliability_NothingAcceptedIsLost(t *testing.T) {
	// The lease is 2×CTJ_CALLTOUCH_TIMEOUT+5s: a killed serve's claims
	// lapse after 7 s.
	e := harness.Start(t, harness.WithEnv("CTJ_CALLTOUCH_TIMEOUT", "1s"))
	db := e.OpenDB(t)
	e.PutPolicy("rel-lost-w", harness.PolicyFor(e.Fake, nil))
	g := loadgen.NewLoadGen("rel-lost", "rel-lost-w", e.Process)
	g.Pause = [2]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}

	stop := runLoad(g, 4, 2*time.Minute)
	defer stop()
	kills := killLoop(t, []*harness.Engine{e}, 4, 1500*time.Millisecond, 3500*time.Millisecond)
	g.WaitAccepted(t, 8) // some load after the last start too
	stop()

	r := loadgen.CheckDelivered(t, db, g, e.Fake, kills, 90*time.Second)
	t.Logf("%d SIGKILLs of serve under load; %s", len(kills), g.Summary())
	t.Logf("counts: %s", r)
	t.Logf("answer to record: %s", loadgen.RecordDelays(t, db))
	if r.Acked == 0 || r.Expected == 0 {
		t.Errorf("no load got through: %s", g.Summary())
	}
	if g.Unexpected != nil {
		t.Errorf("answers no client should get: %v", g.Unexpected)
	}
}
