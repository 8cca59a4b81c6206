// Package loadgen posts made-up orders to serve as concurrent clients
// would, remembering every event acknowledged, and checks afterwards that
// every acknowledged event is in the log and every lead it qualifies for
// was delivered, once, save for double sends a SIGKILL explains.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ctjournal/tests/harness"
)

// GenOrder is one order the load generator made up: its events and the
// lead keys it qualifies for, each with the events it needs stored.
type GenOrder struct {
	ID     string
	Events []harness.Event
	Leads  map[string][]string // key → event ids that make it qualify
}

// LoadGen posts made-up orders as concurrent clients would: single events,
// one order per batch, or several orders per batch; a request that gets
// no answer or 503 is sent again (same body: ingest is idempotent) until
// it gets 202. It remembers what was acknowledged.
type LoadGen struct {
	prefix, widget string
	targets        []*harness.Process // requests go round-robin to these
	Client         *http.Client       // nil: the target's client
	Retry          bool               // send a request again after no answer or 503
	Pause          [2]time.Duration   // each client's pause between pieces of work: [min, max]
	Observe        func(PostResult)

	seq, turn atomic.Int64

	Mu         sync.Mutex
	Orders     []*GenOrder
	Acked      map[string]bool // event ids answered 202
	requests   int             // HTTP requests sent
	answers    map[string]int  // "202", "503", "no answer: connection refused", …
	Unexpected []string        // answers no client should get
}

// PostResult is one HTTP request of the load and what became of it.
type PostResult struct {
	Start, End time.Time
	Status     int // 0: no answer
	Err        error
	EventIDs   []string
}

func NewLoadGen(prefix, widget string, targets ...*harness.Process) *LoadGen {
	return &LoadGen{prefix: prefix, widget: widget, targets: targets, Retry: true,
		Acked: map[string]bool{}, answers: map[string]int{}}
}

// NewOrder makes up one order: 2 of 3 are ordered + answered 1 (lead
// o~1), the rest ordered + failed 1 + answered 2 (leads o~1 and o~2).
func (g *LoadGen) NewOrder() *GenOrder {
	o := &GenOrder{ID: fmt.Sprintf("%s-%06d", g.prefix, g.seq.Add(1)), Leads: map[string][]string{}}
	ord := harness.Ordered(o.ID, g.widget, nil)
	if rand.IntN(3) < 2 {
		ans := harness.Answered(o.ID, g.widget, 1)
		o.Events = []harness.Event{ord, ans}
		o.Leads[o.ID+"~1"] = []string{ord["event_id"].(string), ans["event_id"].(string)}
	} else {
		f, ans := harness.Failed(o.ID, g.widget, 1, "no_answer"), harness.Answered(o.ID, g.widget, 2)
		o.Events = []harness.Event{ord, f, ans}
		o.Leads[o.ID+"~1"] = []string{ord["event_id"].(string), f["event_id"].(string)}
		o.Leads[o.ID+"~2"] = []string{ord["event_id"].(string), ans["event_id"].(string)}
	}
	g.Mu.Lock()
	g.Orders = append(g.Orders, o)
	g.Mu.Unlock()
	return o
}

// nextBodies makes up the next piece of work: one order posted event by
// event, one order in one batch, or 2–8 orders in one batch.
func (g *LoadGen) nextBodies() [][]harness.Event {
	switch rand.IntN(3) {
	case 0:
		o := g.NewOrder()
		var out [][]harness.Event
		for _, ev := range o.Events {
			out = append(out, []harness.Event{ev})
		}
		return out
	case 1:
		return [][]harness.Event{g.NewOrder().Events}
	default:
		var batch []harness.Event
		for range 2 + rand.IntN(7) {
			batch = append(batch, g.NewOrder().Events...)
		}
		return [][]harness.Event{batch}
	}
}

// Run posts until ctx ends; the request under way when it does is still
// sent again until it gets its 202 or hard ends.
func (g *LoadGen) Run(ctx, hard context.Context) {
	for ctx.Err() == nil {
		for _, body := range g.nextBodies() {
			if !g.Post(ctx, hard, body) {
				return
			}
		}
		if g.Pause[1] > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(RandBetween(g.Pause[0], g.Pause[1])):
			}
		}
	}
}

// Post sends one body until it gets 202 (true), or gives up (false): on an
// answer that retrying cannot change, when hard ends, or at once when
// g.retry is off.
func (g *LoadGen) Post(ctx, hard context.Context, body []harness.Event) bool {
	var payload []byte
	if len(body) == 1 {
		payload, _ = json.Marshal(body[0])
	} else {
		payload, _ = json.Marshal(body)
	}
	ids := make([]string, len(body))
	for i, ev := range body {
		ids[i] = ev["event_id"].(string)
	}
	for {
		target := g.targets[int(g.turn.Add(1))%len(g.targets)]
		r := PostResult{Start: time.Now(), EventIDs: ids}
		r.Status, r.Err = g.Send(target, payload)
		r.End = time.Now()
		if g.Observe != nil {
			g.Observe(r)
		}
		g.Mu.Lock()
		g.requests++
		switch {
		case r.Err != nil:
			g.answers["no answer: "+ErrorKind(r.Err)]++
		default:
			g.answers[strconv.Itoa(r.Status)]++
		}
		if r.Status == http.StatusAccepted {
			for _, id := range ids {
				g.Acked[id] = true
			}
		}
		if r.Status != 0 && r.Status != http.StatusAccepted && r.Status != http.StatusServiceUnavailable {
			g.Unexpected = append(g.Unexpected, fmt.Sprintf("%s: %d", r.Start.Format("15:04:05.000"), r.Status))
		}
		g.Mu.Unlock()
		switch {
		case r.Status == http.StatusAccepted:
			return true
		case !g.Retry || hard.Err() != nil:
			return false
		case r.Status != 0 && r.Status != http.StatusServiceUnavailable && r.Status < 500:
			return false
		}
		select {
		case <-hard.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (g *LoadGen) Send(target *harness.Process, payload []byte) (int, error) {
	if g.Client == nil {
		status, _, err := target.Send(http.MethodPost, "/v1/events", "application/json", payload)
		return status, err
	}
	resp, err := g.Client.Post(target.URL("/v1/events"), "application/json", strings.NewReader(string(payload)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	target.NoteAnswer(http.MethodPost, "/v1/events", resp.StatusCode, out)
	return resp.StatusCode, nil
}

// ErrorKind names a client error: refused, reset, EOF, timeout, other.
func ErrorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case strings.Contains(err.Error(), "EOF"):
		return "EOF"
	case strings.Contains(err.Error(), "Client.Timeout"), strings.Contains(err.Error(), "deadline exceeded"):
		return "timeout"
	}
	return "other: " + err.Error()
}

// WaitAccepted waits until n more of the load's requests got 202.
func (g *LoadGen) WaitAccepted(t *testing.T, n int) {
	t.Helper()
	accepted := func() int {
		g.Mu.Lock()
		defer g.Mu.Unlock()
		return g.answers[strconv.Itoa(http.StatusAccepted)]
	}
	want := accepted() + n
	harness.WaitUntil(t, harness.WaitLimit, fmt.Sprintf("%d more requests of the load answered 202", n), func() (bool, string) {
		return accepted() >= want, g.Summary()
	})
}

// AckedIDs lists the event ids acknowledged with 202.
func (g *LoadGen) AckedIDs() []string {
	g.Mu.Lock()
	defer g.Mu.Unlock()
	out := make([]string, 0, len(g.Acked))
	for id := range g.Acked {
		out = append(out, id)
	}
	return out
}

// expectedLeads lists the keys whose qualifying events were all acknowledged.
func (g *LoadGen) expectedLeads() []string {
	g.Mu.Lock()
	defer g.Mu.Unlock()
	var out []string
	for _, o := range g.Orders {
		for key, needs := range o.Leads {
			if !slices.ContainsFunc(needs, func(id string) bool { return !g.Acked[id] }) {
				out = append(out, key)
			}
		}
	}
	return out
}

func (g *LoadGen) Summary() string {
	g.Mu.Lock()
	defer g.Mu.Unlock()
	keys := make([]string, 0, len(g.answers))
	for k := range g.answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, g.answers[k]))
	}
	return fmt.Sprintf("%d orders, %d requests (%s)", len(g.Orders), g.requests, strings.Join(parts, ", "))
}

func RandBetween(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}
