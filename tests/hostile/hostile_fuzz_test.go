package hostile

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/tests/harness"
)

// hostileBodies is how many mutated bodies the black-box fuzz run posts;
// CTJ_HOSTILE_BODIES raises it for long runs (make fuzz).
const hostileBodies = 5000

// hostileValues replace a JSON value of a valid envelope: each is
// something a careless or hostile client sends, and each must be answered
// 202 or 4xx, never 5xx.
var hostileValues = []any{
	"", "\x00", "a\x00b", "\u0000", strings.Repeat("x", 200), strings.Repeat("я", 5000), "~", "../..", "%00", "%FF",
	"\xff\xfe", "\xed\xa0\x80", "<script>", "' OR 1=1 --", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
	"1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-02-30T10:00:00Z",
	"2026-11-24T10:15:00+25:00", "2026-11-24 10:15:00", "call.ordered", "call.unknown", "tap2call",
	0, -1, 1, 100, 101, 86400, 86401, 1.5, -0.0, 1e308, 9223372036854775807, 18446744073709551616.0,
	true, false, nil, []any{}, []any{1, "a"}, map[string]any{}, map[string]any{"\x00": "v"},
	map[string]any{"k": "\x00"}, map[string]any{"k": 1},
}

// hostileValue picks one of hostileValues with its maps and slices copied,
// so that a later mutation writes into the body's own value, never into
// the shared table: that would tie bodies of several goroutines together,
// or a map to itself.
func hostileValue(rng *rand.Rand) any {
	return copied(hostileValues[rng.IntN(len(hostileValues))])
}

func copied(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = copied(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = copied(x)
		}
		return c
	}
	return v
}

// hostileCounts are the answers of one run, by status.
type hostileCounts struct {
	mu       sync.Mutex
	byStatus map[int]int
	accepted int
	failures []string
}

func (c *hostileCounts) add(status int, body []byte, accepted int, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byStatus[status]++
	c.accepted += accepted
	if (status >= 500 || status == 0) && len(c.failures) < 10 {
		c.failures = append(c.failures, fmt.Sprintf("%d for %s\nanswer: %s", status, what, body))
	}
}

func (c *hostileCounts) String() string {
	statuses := make([]int, 0, len(c.byStatus))
	for s := range c.byStatus {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var b strings.Builder
	for _, s := range statuses {
		fmt.Fprintf(&b, "%d: %d  ", s, c.byStatus[s])
	}
	return strings.TrimSpace(b.String())
}

// TestHostileInput_MutatedBodiesAndOddPathsNever5xx posts thousands of mutated
// event bodies and odd paths to the real binary: no answer is a 5xx, the
// log holds exactly the events the 202 answers accepted (nothing of a
// refused batch), and the engine still decides and delivers afterwards.
func TestHostileInput_MutatedBodiesAndOddPathsNever5xx(t *testing.T) {
	e := harness.Start(t)
	widget := "w-hostile"
	e.PutPolicy(widget, harness.PolicyFor(e.Fake, nil))

	n := hostileBodies
	if v, err := strconv.Atoi(os.Getenv("CTJ_HOSTILE_BODIES")); err == nil && v > 0 {
		n = v
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (CTJ_HOSTILE_SEED repeats a run)", seed)
	if v, err := strconv.ParseUint(os.Getenv("CTJ_HOSTILE_SEED"), 10, 64); err == nil {
		seed = v
	}

	bodies := &hostileCounts{byStatus: map[int]int{}}
	paths := &hostileCounts{byStatus: map[int]int{}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range jobs {
				if i%10 == 9 {
					method, path := hostilePath(rng)
					status, out, err := e.Send(method, path, "application/json", []byte(`{}`))
					if err != nil {
						out = []byte(err.Error())
					}
					paths.add(status, out, 0, method+" "+path)
					continue
				}
				body := mutatedBody(rng, widget, i)
				status, out, err := e.Send(http.MethodPost, "/v1/events", "application/json", body)
				if err != nil {
					out = []byte(err.Error())
				}
				var answer struct{ Accepted int }
				if status == http.StatusAccepted {
					if err := json.Unmarshal(out, &answer); err != nil {
						t.Errorf("202 with an answer that is not JSON: %s", out)
					}
				}
				bodies.add(status, out, answer.Accepted, fmt.Sprintf("body %.600s", body))
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	t.Logf("%d event bodies by status: %s; %d events accepted", n-n/10, bodies, bodies.accepted)
	t.Logf("%d odd paths and queries by status: %s", n/10, paths)
	for _, c := range []*hostileCounts{bodies, paths} {
		for _, f := range c.failures {
			t.Errorf("server error or no answer: %s", f)
		}
	}

	if stored := storedCallEvents(t, e.DBURL); stored != bodies.accepted {
		t.Errorf("the log holds %d call events, the 202 answers accepted %d: a refused batch left something behind", stored, bodies.accepted)
	}

	// The engine still decides and delivers after all that.
	order := "ord-after-hostile"
	e.MustPost(harness.Ordered(order, widget, nil), harness.Answered(order, widget, 1))
	e.WaitForLead(order+"~1", "delivered")
}

// mutatedBody is a valid batch of one order's events, mutated in one or
// two ways: a value replaced, a field dropped, or its bytes damaged.
func mutatedBody(rng *rand.Rand, widget string, i int) []byte {
	order := fmt.Sprintf("ord-h-%d-%d", i, rng.Uint32())
	batch := []harness.Event{
		harness.Ordered(order, widget, map[string]any{"form_name": "Форма", "details": map[string]any{"page": "/x"}}),
		harness.Dialed(order, widget, 1),
		harness.Failed(order, widget, 1, "busy"),
		harness.Answered(order, widget, 2).WithData("talk_seconds", 42),
		harness.LastAttempt(order, widget, 2),
	}
	if rng.IntN(4) == 0 {
		batch[0] = batch[0].WithData("scheduled_at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}
	batch = batch[:1+rng.IntN(len(batch))]
	for range 1 + rng.IntN(2) {
		ev := batch[rng.IntN(len(batch))]
		data, ok := ev["data"].(map[string]any)
		if !ok { // an earlier mutation replaced data itself
			data = map[string]any{}
		}
		switch rng.IntN(4) {
		case 0: // an envelope field gets an odd value
			keys := []string{"event_id", "type", "order_id", "widget_id", "occurred_at", "data"}
			ev[keys[rng.IntN(len(keys))]] = hostileValue(rng)
		case 1: // a data field gets an odd value
			keys := []string{"attempt", "talk_seconds", "reason", "client_phone", "manager_phone", "kind",
				"calltouch_session_id", "form_name", "scheduled_at", "details"}
			data[keys[rng.IntN(len(keys))]] = hostileValue(rng)
		case 2: // a field goes missing
			keys := []string{"event_id", "type", "order_id", "widget_id", "occurred_at", "data"}
			delete(ev, keys[rng.IntN(len(keys))])
		case 3: // a details entry with an odd key or value
			data["details"] = map[string]any{fmt.Sprint(hostileValue(rng)): hostileValue(rng)}
		}
	}
	var body any = batch
	if len(batch) == 1 && rng.IntN(2) == 0 {
		body = batch[0]
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return []byte(fmt.Sprint(body))
	}
	if rng.IntN(3) == 0 {
		raw = damagedBytes(rng, raw)
	}
	return raw
}

// damagedBytes breaks the encoded body: a byte flipped, a cut, a run
// repeated, raw NUL or invalid UTF-8 inserted, or deep nesting.
func damagedBytes(rng *rand.Rand, raw []byte) []byte {
	at := rng.IntN(len(raw))
	switch rng.IntN(6) {
	case 0:
		raw[at] ^= byte(1 << rng.IntN(8))
		return raw
	case 1:
		return raw[:at]
	case 2:
		end := min(len(raw), at+1+rng.IntN(40))
		return slices.Concat(raw[:end], raw[at:end], raw[end:])
	case 3:
		return slices.Concat(raw[:at], []byte{0}, raw[at:])
	case 4:
		return slices.Concat(raw[:at], []byte{0xff, 0xc0, 0x80}, raw[at:])
	default:
		depth := 1 + rng.IntN(20000)
		return slices.Concat(bytes.Repeat([]byte("["), depth), raw, bytes.Repeat([]byte("]"), depth))
	}
}

// hostilePath is a request to any route with an odd path or query value.
func hostilePath(rng *rand.Rand) (method, path string) {
	odd := []string{"%00", "%FF", "a%00b", "%C0%80", "%ED%A0%80", "..%2F..", "~", "%7E1", strings.Repeat("x", 300),
		"%E2%80%AE", "ord-1~x", "ord-1~0", "ord-1~99999999999999999999", "%25", "%20", "-1", "0000-01-01T00:00:00Z"}
	v := odd[rng.IntN(len(odd))]
	switch rng.IntN(7) {
	case 0:
		return http.MethodGet, "/v1/orders/" + v
	case 1:
		return http.MethodGet, "/v1/widgets/" + v + "/calltouch"
	case 2:
		return http.MethodPut, "/v1/widgets/" + v + "/calltouch"
	case 3:
		return http.MethodDelete, "/v1/widgets/" + v + "/calltouch"
	case 4:
		return http.MethodPost, "/v1/leads/" + v + "/redeliver"
	default:
		params := []string{"widget_id", "status", "since", "until", "limit", "cursor"}
		return http.MethodGet, "/v1/leads?" + params[rng.IntN(len(params))] + "=" + v
	}
}

// storedCallEvents counts the call events in the engine's log.
func storedCallEvents(t *testing.T, dbURL string) int {
	t.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ctj_log WHERE payload->>'type' LIKE 'call.%'`).Scan(&n); err != nil {
		t.Fatalf("count the log's call events: %v", err)
	}
	return n
}
