package operations

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"ctjournal/adapters/calltouch/calltouchfake"
	"ctjournal/tests/harness"
)

// copy-store, end to end: a store holding delivered, failed, pending and
// waiting leads and a quarantined record is copied into a fresh PostgreSQL
// database; a serve there finishes the pending lead, decides the waiting
// one when its last attempt comes, and sends nothing else; the record
// stays set aside. A second copy into the filled target is refused.

func TestCopyStore_EmbeddedToPostgres(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := harness.Start(t, harness.OnEmbeddedStore(dir))
	copyStore(t, src, func(payload string) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctjournal.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO ctj_log (uuid, payload, metadata) VALUES (?, ?, '{}')`, harness.NewUUID(), payload); err != nil {
			t.Fatalf("write into the log: %v", err)
		}
	})
}

func TestCopyStore_PostgresToPostgres(t *testing.T) {
	t.Parallel()
	src := harness.Start(t)
	copyStore(t, src, func(payload string) {
		db := src.OpenDB(t)
		if _, err := db.Exec(`INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
			VALUES (gen_random_uuid()::text, $1, '{}', pg_current_xact_id())`, payload); err != nil {
			t.Fatalf("write into the log: %v", err)
		}
		if _, err := db.Exec(`SELECT pg_notify('ctj_log', '')`); err != nil {
			t.Fatal(err)
		}
	})
}

// copyStore runs the scenario on src; writeRecord writes a payload
// straight into src's log.
func copyStore(t *testing.T, src *harness.Engine, writeRecord func(payload string)) {
	refusing, busy := src.NewFake(t), src.NewFake(t)
	refusing.SetDefault(calltouchfake.Status(400, `{"error":"bad request"}`))
	busy.SetDefault(calltouchfake.Status(503, `{"error":"busy"}`))
	const (
		okW, badW, busyW, waitW = "cs-ok-w", "cs-bad-w", "cs-busy-w", "cs-wait-w"
		okO, badO, busyO, waitO = "cs-ok", "cs-bad", "cs-busy", "cs-wait"
		damagedO                = "cs-damaged"
	)
	src.PutPolicy(okW, harness.PolicyFor(src.Fake, nil))
	src.PutPolicy(badW, harness.PolicyFor(refusing, nil))
	src.PutPolicy(busyW, harness.PolicyFor(busy, nil))
	src.PutPolicy(waitW, harness.PolicyFor(src.Fake, map[string]any{"only_last_attempt": true}))
	for _, o := range []struct{ order, widget string }{{okO, okW}, {badO, badW}, {busyO, busyW}} {
		src.MustPost(harness.Ordered(o.order, o.widget, nil), harness.Dialed(o.order, o.widget, 1), harness.Answered(o.order, o.widget, 1))
	}
	src.MustPost(harness.Ordered(waitO, waitW, nil), harness.Dialed(waitO, waitW, 1), harness.Failed(waitO, waitW, 1, "no_answer"))
	writeRecord(harness.CanonicalEnvelope(t, "call.dialed", damagedO, okW, map[string]any{"attempt": "one"}, nil))

	src.WaitForStatus(okO, 1, "delivered")
	src.WaitForStatus(badO, 1, "failed")
	src.WaitForStatus(waitO, 1, "waiting")
	harness.Eventually(t, "two tries of the pending lead", func() (bool, string) {
		d, _ := src.MustOrder(busyO).Decision(1)
		return len(d.Tries) >= 2 && d.Status == "pending", d.String()
	})
	aside := listQuarantine(t, src)
	if len(aside) != 1 || aside[0].OrderID == nil || *aside[0].OrderID != damagedO {
		t.Fatalf("source quarantine: %+v, want the damaged record of %s", aside, damagedO)
	}
	if err := src.Stop(); err != nil {
		t.Fatal(err)
	}
	before := map[*calltouchfake.Server]int{src.Fake: len(src.Fake.Requests()), refusing: len(refusing.Requests()), busy: len(busy.Requests())}

	dbName := fmt.Sprintf("%s%d_%s", harness.DBPrefix, os.Getpid(), harness.RandomHex(6))
	if err := harness.AdminExec(`CREATE DATABASE "` + dbName + `"`); err != nil {
		t.Fatal(err)
	}
	dbURL := "postgres://postgres@127.0.0.1:5432/" + dbName + "?sslmode=disable"
	stdout, stderr, code := src.CLI("copy-store", "--to", dbURL)
	if code != 0 {
		_ = harness.AdminExec(`DROP DATABASE IF EXISTS "` + dbName + `" WITH (FORCE)`)
		t.Fatalf("copy-store: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "1 delivered, 1 failed, 1 pending") || !strings.Contains(stderr, "copy-store:") {
		t.Errorf("copy-store's report and progress:\n%s%s", stdout, stderr)
	}
	busy.SetDefault(calltouchfake.OK())
	target := serveOn(t, dbName, dbURL)
	if _, stderr, code := target.CLI("copy-store", "--to", dbURL); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("copy-store into the filled target: exit %d, want 1 saying it is not empty\n%s", code, stderr)
	}

	busyLead := target.WaitForStatus(busyO, 1, "delivered")
	target.MustPost(harness.LastAttempt(waitO, waitW, 1))
	waitLead := target.WaitForStatus(waitO, 1, "delivered")
	if d, _ := target.MustOrder(okO).Decision(1); d.Status != "delivered" || len(d.Tries) != 1 {
		t.Errorf("delivered lead on the target: %s", d)
	}
	if d, _ := target.MustOrder(badO).Decision(1); d.Status != "failed" {
		t.Errorf("failed lead on the target: %s", d)
	}
	if page := target.Leads("status=pending"); len(page.Leads) != 0 {
		t.Errorf("leads still pending on the target: %+v", page.Leads)
	}
	// Per key: the target sent the pending lead once (accepted) and the
	// waiting one once, and nothing of the delivered or failed ones.
	wantNew := map[*calltouchfake.Server]map[string][]int{
		src.Fake: {*waitLead.Key: {200}},
		refusing: {},
		busy:     {*busyLead.Key: {200}},
	}
	for fake, want := range wantNew {
		got := map[string][]int{}
		for _, r := range fake.Requests()[before[fake]:] {
			key := r.Form.Get("requestNumber")
			got[key] = append(got[key], r.Status)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("requests after the copy: %v, want %v", got, want)
		}
	}
	if got := listQuarantine(t, target); len(got) != 1 || got[0].Position != aside[0].Position || *got[0].OrderID != damagedO {
		t.Errorf("target quarantine: %+v, want %+v", got, aside)
	}
}

// serveOn starts serve on an existing database, which it drops at the end.
func serveOn(t *testing.T, dbName, dbURL string) *harness.Engine {
	p := &harness.Process{Env: harness.DefaultEnv(), Client: harness.NewClient(), Stderr: &harness.SyncBuffer{}, DBName: dbName, DBURL: dbURL, Fake: calltouchfake.New()}
	t.Cleanup(func() {
		if err := p.Shutdown(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("target serve stderr:\n%s", p.Logs())
		}
	})
	if err := p.Start(); err != nil {
		t.Fatalf("serve on %s: %v", dbName, err)
	}
	return &harness.Engine{T: t, Process: p}
}

func listQuarantine(t *testing.T, e *harness.Engine) []harness.ListedRecord {
	stdout, stderr, code := e.CLI("quarantine", "--json")
	if code != 0 {
		t.Fatalf("ctjournal quarantine --json: exit %d\n%s", code, stderr)
	}
	var out []harness.ListedRecord
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("ctjournal quarantine --json: %v\n%s", err, stdout)
	}
	return out
}
