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
	"ctjournal/tests/harness"
)

// The embedded store (DATABASE_URL unset, one SQLite file under
// CTJ_DATA_DIR) runs the same end-to-end checks as PostgreSQL.

func TestEmbeddedStore_Examples(t *testing.T) {
	t.Parallel()
	examples(t, harness.Start(t, harness.OnEmbeddedStore(t.TempDir())))
}

func TestEmbeddedStore_IngestErrors(t *testing.T) {
	t.Parallel()
	ingestErrors(t, harness.Start(t, harness.OnEmbeddedStore(t.TempDir())))
}

func TestEmbeddedStore_Delivery(t *testing.T) {
	t.Parallel()
	delivery(t, harness.Start(t, harness.OnEmbeddedStore(t.TempDir())))
}

// A second serve on the same data directory exits 2, saying several
// serves need PostgreSQL; the other commands run beside the first.
func TestEmbeddedStore_SecondServeExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := harness.Start(t, harness.OnEmbeddedStore(dir))
	e.PutPolicy("emb-two-w", harness.PolicyFor(e.Fake, nil))
	e.MustPost(harness.Ordered("emb-two-o", "emb-two-w", nil))
	e.WaitForEvents("emb-two-o", 1)

	ctx, cancel := context.WithTimeout(context.Background(), harness.WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary, "serve")
	cmd.Env = append(e.Environ(), "CTJ_HTTP_ADDR=127.0.0.1:0")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "several serves need PostgreSQL") {
		t.Fatalf("second serve exited %d, want 2 with a word about PostgreSQL:\n%s", code, out)
	}
	stdout, stderr, code := e.CLI("explain", "emb-two-o")
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
	e := harness.Start(t, harness.OnEmbeddedStore(t.TempDir()), harness.WithEnv("PGHOST", "127.0.0.1"), harness.WithEnv("PGPORT", port))
	if !strings.Contains(e.Logs(), "store: embedded SQLite") {
		t.Fatalf("serve does not say which store it runs on:\n%s", e.Logs())
	}
	w, o := "emb-nodb-w", "emb-nodb-o"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	e.MustPost(harness.Ordered(o, w, nil), harness.Dialed(o, w, 1), harness.Answered(o, w, 1))
	e.WaitForStatus(o, 1, "delivered")
	if n := len(e.Fake.Requests()); n != 1 {
		t.Fatalf("the fake Calltouch got %d requests, want 1", n)
	}
}

func TestEmbeddedStore_OrderExplanation(t *testing.T) {
	t.Parallel()
	orderExplanation(t, harness.Start(t, harness.OnEmbeddedStore(t.TempDir())))
}

// Every event answered 202 survives a SIGKILL of serve that comes right
// after the answers, while clients are still posting: serve started again
// on the same directory has each of them and decides and delivers its
// order.
func TestEmbeddedStore_KillNineLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.OnEmbeddedStore(t.TempDir()))
	const w = "emb-k9-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				o := fmt.Sprintf("emb-k9-%d-%d", c, i)
				status, _, err := e.Send(http.MethodPost, "/v1/events", "application/json",
					harness.MustJSON(t, []harness.Event{harness.Ordered(o, w, nil), harness.Dialed(o, w, 1), harness.Answered(o, w, 1)}))
				if err != nil || status != http.StatusAccepted {
					return // serve is gone
				}
				mu.Lock()
				acked = append(acked, o)
				mu.Unlock()
			}
		})
	}
	harness.Eventually(t, "20 orders acknowledged", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 20, fmt.Sprint(len(acked))
	})
	e.SigKill()
	wg.Wait()
	e.RestartAfterKill(t)
	for _, o := range acked {
		if x := e.WaitForEvents(o, 3); len(x.Events) != 3 {
			t.Errorf("order %s: %d events after the kill, want the 3 acknowledged", o, len(x.Events))
		}
		e.WaitForStatus(o, 1, "delivered")
	}
	t.Logf("%d orders acknowledged before the SIGKILL, each there and delivered after it", len(acked))
}

// ctjournal rebuild on the embedded store, beside serve, gives every order
// the decisions, statuses and tries it had, and sends nothing.
func TestEmbeddedStore_RebuildGivesTheSameDecisions(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.OnEmbeddedStore(t.TempDir()))
	refusing := e.NewFake(t)
	refusing.SetDefault(calltouchfake.Status(400, `{"error":"bad request"}`))
	const w, last, bad = "emb-rb-w", "emb-rb-last", "emb-rb-bad"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	e.PutPolicy(last, harness.PolicyFor(e.Fake, map[string]any{"only_last_attempt": true}))
	e.PutPolicy(bad, harness.PolicyFor(refusing, nil))
	orders := []string{"emb-rb-1", "emb-rb-2", "emb-rb-3", "emb-rb-4", "emb-rb-5"}
	e.MustPost(harness.Ordered(orders[0], w, nil), harness.Dialed(orders[0], w, 1), harness.Answered(orders[0], w, 1))
	e.MustPost(harness.Ordered(orders[1], w, nil), harness.Dialed(orders[1], w, 1), harness.Failed(orders[1], w, 1, "busy"),
		harness.Dialed(orders[1], w, 2), harness.Answered(orders[1], w, 2))
	e.MustPost(harness.Ordered(orders[2], last, nil), harness.Dialed(orders[2], last, 1), harness.Failed(orders[2], last, 1, "no_answer"))
	e.MustPost(harness.Ordered(orders[3], bad, nil), harness.Dialed(orders[3], bad, 1), harness.Answered(orders[3], bad, 1))
	e.MustPost(harness.Ordered(orders[4], "emb-rb-nopolicy", nil), harness.Answered(orders[4], "emb-rb-nopolicy", 1))
	e.WaitForStatus(orders[0], 1, "delivered")
	e.WaitForStatus(orders[1], 2, "delivered")
	e.WaitForStatus(orders[2], 1, "waiting")
	e.WaitForStatus(orders[3], 1, "failed")
	e.WaitForEvents(orders[4], 2)
	before, sent := orderSummaries(e, orders), e.Fake.Count()+refusing.Count()

	stdout, stderr, code := e.CLI("rebuild")
	if code != 0 || !strings.Contains(stdout, "rebuilt") {
		t.Fatalf("ctjournal rebuild: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := orderSummaries(e, orders); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("decisions after the rebuild:\n%v\nbefore:\n%v", after, before)
	}
	if n := e.Fake.Count() + refusing.Count(); n != sent {
		t.Errorf("Calltouch got %d requests by the end, %d before the rebuild: a rebuild sends nothing", n, sent)
	}
}

// orderSummaries are the orders' decisions with their statuses and tries.
func orderSummaries(e *harness.Engine, orders []string) []string {
	var out []string
	for _, o := range orders {
		x := e.MustOrder(o)
		for _, d := range x.Decisions {
			out = append(out, fmt.Sprintf("%s %v %s %s %q tries=%d", o, harness.Deref(d.Attempt), d.Decision, d.Status, d.Reason, len(d.Tries)))
		}
	}
	return out
}

// explain --widget counts the widget's decisions by status as the orders'
// explanations give them; simulate replays them under a disabled policy,
// which would send none, and changes nothing.
func TestEmbeddedStore_ExplainWidgetAndSimulate(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.OnEmbeddedStore(t.TempDir()))
	const w = "emb-ws-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	orders := []string{"emb-ws-1", "emb-ws-2", "emb-ws-3"}
	e.MustPost(harness.Ordered(orders[0], w, nil), harness.Dialed(orders[0], w, 1), harness.Answered(orders[0], w, 1))
	e.MustPost(harness.Ordered(orders[1], w, nil), harness.Dialed(orders[1], w, 1), harness.Failed(orders[1], w, 1, "busy"), harness.LastAttempt(orders[1], w, 1))
	e.MustPost(harness.Ordered(orders[2], w, nil))
	e.WaitForStatus(orders[0], 1, "delivered")
	e.WaitForEvents(orders[1], 4)
	e.WaitForEvents(orders[2], 1)
	var sends int
	harness.Eventually(t, "no lead of the widget pending", func() (bool, string) {
		return len(e.Leads("widget_id="+w+"&status=pending").Leads) == 0, "pending leads"
	})
	byStatus := map[string]int64{}
	for _, o := range orders {
		for _, d := range e.MustOrder(o).Decisions {
			byStatus[d.Status]++
			if d.Decision == "send" {
				sends++
			}
		}
	}

	stdout, stderr, code := e.CLI("explain", "--widget", w, "--json")
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
	if out, _, code := e.CLI("explain", "--widget", w); code != 0 || !strings.Contains(out, w) {
		t.Errorf("explain --widget as text: exit %d\n%s", code, out)
	}

	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, harness.MustJSON(t, harness.PolicyFor(e.Fake, map[string]any{"enabled": false})), 0o600); err != nil {
		t.Fatal(err)
	}
	sent, before := e.Fake.Count(), orderSummaries(e, orders)
	stdout, stderr, code = e.CLI("simulate", "--widget", w, "--policy", file, "--json")
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
	if e.Fake.Count() != sent || fmt.Sprint(orderSummaries(e, orders)) != fmt.Sprint(before) {
		t.Errorf("simulate sent or changed something")
	}
}
