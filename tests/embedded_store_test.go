package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// The embedded store (DATABASE_URL unset, one SQLite file under
// CTJ_DATA_DIR) runs the same end-to-end checks as PostgreSQL.

func TestEmbeddedStore_Examples(t *testing.T) {
	t.Parallel()
	examples(t, startEngine(t, onEmbeddedStore(t.TempDir())))
}

func TestEmbeddedStore_IngestErrors(t *testing.T) {
	t.Parallel()
	ingestErrors(t, startEngine(t, onEmbeddedStore(t.TempDir())))
}

func TestEmbeddedStore_Delivery(t *testing.T) {
	t.Parallel()
	delivery(t, startEngine(t, onEmbeddedStore(t.TempDir())))
}

// A second serve on the same data directory exits 2, saying several
// serves need PostgreSQL; the other commands run beside the first.
func TestEmbeddedStore_SecondServeExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startEngine(t, onEmbeddedStore(dir))
	e.putPolicy("emb-two-w", policyFor(e.fake, nil))
	e.mustPost(ordered("emb-two-o", "emb-two-w", nil))
	e.waitForEvents("emb-two-o", 1)

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve")
	cmd.Env = append(e.environ(), "CTJ_HTTP_ADDR=127.0.0.1:0")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "several serves need PostgreSQL") {
		t.Fatalf("second serve exited %d, want 2 with a word about PostgreSQL:\n%s", code, out)
	}
	stdout, stderr, code := e.cli("explain", "emb-two-o")
	if code != 0 || !strings.Contains(stdout, "emb-two-o") {
		t.Fatalf("explain beside serve: exit %d\n%s%s", code, stdout, stderr)
	}
}

// make run on a machine with no database server: no DATABASE_URL, and
// PGHOST/PGPORT pointing at a closed port, serve still takes an order and
// the fake Calltouch gets its lead.
func TestEmbeddedStore_RunsWithNoDatabaseServer(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(closed.Addr().String())
	closed.Close()
	e := startEngine(t, onEmbeddedStore(t.TempDir()), withEnv("PGHOST", "127.0.0.1"), withEnv("PGPORT", port))
	if !strings.Contains(e.logs(), "store: embedded SQLite") {
		t.Fatalf("serve does not say which store it runs on:\n%s", e.logs())
	}
	w, o := "emb-nodb-w", "emb-nodb-o"
	e.putPolicy(w, policyFor(e.fake, nil))
	e.mustPost(ordered(o, w, nil), dialed(o, w, 1), answered(o, w, 1))
	e.waitForStatus(o, 1, "delivered")
	if n := len(e.fake.Requests()); n != 1 {
		t.Fatalf("the fake Calltouch got %d requests, want 1", n)
	}
}

func TestEmbeddedStore_OrderExplanation(t *testing.T) {
	t.Parallel()
	orderExplanation(t, startEngine(t, onEmbeddedStore(t.TempDir())))
}

// Every event answered 202 survives a SIGKILL of serve that comes right
// after the answers, while clients are still posting: serve started again
// on the same directory has each of them and decides and delivers its
// order.
func TestEmbeddedStore_KillNineLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	e := startEngine(t, onEmbeddedStore(t.TempDir()))
	const w = "emb-k9-w"
	e.putPolicy(w, policyFor(e.fake, nil))
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				o := fmt.Sprintf("emb-k9-%d-%d", c, i)
				status, _, err := e.send(http.MethodPost, "/v1/events", "application/json",
					mustJSON(t, []event{ordered(o, w, nil), dialed(o, w, 1), answered(o, w, 1)}))
				if err != nil || status != http.StatusAccepted {
					return // serve is gone
				}
				mu.Lock()
				acked = append(acked, o)
				mu.Unlock()
			}
		})
	}
	eventually(t, "20 orders acknowledged", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 20, fmt.Sprint(len(acked))
	})
	e.sigkill()
	wg.Wait()
	e.restartAfterKill(t)
	for _, o := range acked {
		if x := e.waitForEvents(o, 3); len(x.Events) != 3 {
			t.Errorf("order %s: %d events after the kill, want the 3 acknowledged", o, len(x.Events))
		}
		e.waitForStatus(o, 1, "delivered")
	}
	t.Logf("%d orders acknowledged before the SIGKILL, each there and delivered after it", len(acked))
}

// ctjournal rebuild on the embedded store, beside serve, gives every order
// the decisions, statuses and tries it had, and sends nothing.
func TestEmbeddedStore_RebuildGivesTheSameDecisions(t *testing.T) {
	t.Parallel()
	e := startEngine(t, onEmbeddedStore(t.TempDir()))
	refusing := e.newFake(t)
	refusing.SetDefault(calltouchfake.Status(400, `{"error":"bad request"}`))
	const w, last, bad = "emb-rb-w", "emb-rb-last", "emb-rb-bad"
	e.putPolicy(w, policyFor(e.fake, nil))
	e.putPolicy(last, policyFor(e.fake, map[string]any{"only_last_attempt": true}))
	e.putPolicy(bad, policyFor(refusing, nil))
	orders := []string{"emb-rb-1", "emb-rb-2", "emb-rb-3", "emb-rb-4", "emb-rb-5"}
	e.mustPost(ordered(orders[0], w, nil), dialed(orders[0], w, 1), answered(orders[0], w, 1))
	e.mustPost(ordered(orders[1], w, nil), dialed(orders[1], w, 1), failed(orders[1], w, 1, "busy"),
		dialed(orders[1], w, 2), answered(orders[1], w, 2))
	e.mustPost(ordered(orders[2], last, nil), dialed(orders[2], last, 1), failed(orders[2], last, 1, "no_answer"))
	e.mustPost(ordered(orders[3], bad, nil), dialed(orders[3], bad, 1), answered(orders[3], bad, 1))
	e.mustPost(ordered(orders[4], "emb-rb-nopolicy", nil), answered(orders[4], "emb-rb-nopolicy", 1))
	e.waitForStatus(orders[0], 1, "delivered")
	e.waitForStatus(orders[1], 2, "delivered")
	e.waitForStatus(orders[2], 1, "waiting")
	e.waitForStatus(orders[3], 1, "failed")
	e.waitForEvents(orders[4], 2)
	before, sent := orderSummaries(e, orders), e.fake.Count()+refusing.Count()

	stdout, stderr, code := e.cli("rebuild")
	if code != 0 || !strings.Contains(stdout, "rebuilt") {
		t.Fatalf("ctjournal rebuild: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := orderSummaries(e, orders); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("decisions after the rebuild:\n%v\nbefore:\n%v", after, before)
	}
	if n := e.fake.Count() + refusing.Count(); n != sent {
		t.Errorf("Calltouch got %d requests by the end, %d before the rebuild: a rebuild sends nothing", n, sent)
	}
}

// orderSummaries are the orders' decisions with their statuses and tries.
func orderSummaries(e *engine, orders []string) []string {
	var out []string
	for _, o := range orders {
		x := e.mustOrder(o)
		for _, d := range x.Decisions {
			out = append(out, fmt.Sprintf("%s %v %s %s %q tries=%d", o, deref(d.Attempt), d.Decision, d.Status, d.Reason, len(d.Tries)))
		}
	}
	return out
}

// explain --widget counts the widget's decisions by status as the orders'
// explanations give them; simulate replays them under a disabled policy,
// which would send none, and changes nothing.
func TestEmbeddedStore_ExplainWidgetAndSimulate(t *testing.T) {
	t.Parallel()
	e := startEngine(t, onEmbeddedStore(t.TempDir()))
	const w = "emb-ws-w"
	e.putPolicy(w, policyFor(e.fake, nil))
	orders := []string{"emb-ws-1", "emb-ws-2", "emb-ws-3"}
	e.mustPost(ordered(orders[0], w, nil), dialed(orders[0], w, 1), answered(orders[0], w, 1))
	e.mustPost(ordered(orders[1], w, nil), dialed(orders[1], w, 1), failed(orders[1], w, 1, "busy"), lastAttempt(orders[1], w, 1))
	e.mustPost(ordered(orders[2], w, nil))
	e.waitForStatus(orders[0], 1, "delivered")
	e.waitForEvents(orders[1], 4)
	e.waitForEvents(orders[2], 1)
	var sends int
	eventually(t, "no lead of the widget pending", func() (bool, string) {
		return len(e.leads("widget_id="+w+"&status=pending").Leads) == 0, "pending leads"
	})
	byStatus := map[string]int64{}
	for _, o := range orders {
		for _, d := range e.mustOrder(o).Decisions {
			byStatus[d.Status]++
			if d.Decision == "send" {
				sends++
			}
		}
	}

	stdout, stderr, code := e.cli("explain", "--widget", w, "--json")
	if code != 0 {
		t.Fatalf("ctjournal explain --widget: exit %d\n%s%s", code, stdout, stderr)
	}
	var summary struct {
		WidgetID string           `json:"widget_id"`
		Orders   int64            `json:"orders"`
		ByStatus map[string]int64 `json:"by_status"`
	}
	if err := json.Unmarshal([]byte(stdout), &summary); err != nil {
		t.Fatalf("explain --widget --json: %v\n%s", err, stdout)
	}
	for status, n := range summary.ByStatus {
		if n != byStatus[status] {
			t.Errorf("explain --widget: %d %s, the orders' explanations have %d (%v)", n, status, byStatus[status], summary.ByStatus)
		}
	}
	if summary.WidgetID != w || summary.Orders == 0 {
		t.Errorf("explain --widget: %+v", summary)
	}
	if out, _, code := e.cli("explain", "--widget", w); code != 0 || !strings.Contains(out, w) {
		t.Errorf("explain --widget as text: exit %d\n%s", code, out)
	}

	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, mustJSON(t, policyFor(e.fake, map[string]any{"enabled": false})), 0o600); err != nil {
		t.Fatal(err)
	}
	sent, before := e.fake.Count(), orderSummaries(e, orders)
	stdout, stderr, code = e.cli("simulate", "--widget", w, "--policy", file, "--json")
	if code != 0 {
		t.Fatalf("ctjournal simulate: exit %d\n%s%s", code, stdout, stderr)
	}
	var sim struct {
		Totals struct {
			Orders int `json:"orders"`
			Before struct {
				Leads int `json:"leads"`
			} `json:"before"`
			After struct {
				Leads int `json:"leads"`
			} `json:"after"`
			Removed int `json:"removed"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &sim); err != nil {
		t.Fatalf("simulate --json: %v\n%s", err, stdout)
	}
	if tt := sim.Totals; tt.Orders != len(orders) || tt.Before.Leads != sends || tt.After.Leads != 0 || tt.Removed != sends {
		t.Errorf("simulate under a disabled policy: %+v, want %d orders, %d leads before, none after, %d removed", tt, len(orders), sends, sends)
	}
	if e.fake.Count() != sent || fmt.Sprint(orderSummaries(e, orders)) != fmt.Sprint(before) {
		t.Errorf("simulate sent or changed something")
	}
}
