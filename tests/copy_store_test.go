package tests

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
)

// copy-store, end to end: a store holding delivered, failed, pending and
// waiting leads and a quarantined record is copied into a fresh PostgreSQL
// database; a serve there finishes the pending lead, decides the waiting
// one when its last attempt comes, and sends nothing else; the record
// stays set aside. A second copy into the filled target is refused.

func TestCopyStore_EmbeddedToPostgres(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := startEngine(t, onEmbeddedStore(dir))
	copyStore(t, src, func(payload string) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ctjournal.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO ctj_log (uuid, payload, metadata) VALUES (?, ?, '{}')`, newUUID(), payload); err != nil {
			t.Fatalf("write into the log: %v", err)
		}
	})
}

func TestCopyStore_PostgresToPostgres(t *testing.T) {
	t.Parallel()
	src := startEngine(t)
	copyStore(t, src, func(payload string) {
		db := src.openDB(t)
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
func copyStore(t *testing.T, src *engine, writeRecord func(payload string)) {
	refusing, busy := src.newFake(t), src.newFake(t)
	refusing.SetDefault(calltouchfake.Status(400, `{"error":"bad request"}`))
	busy.SetDefault(calltouchfake.Status(503, `{"error":"busy"}`))
	const (
		okW, badW, busyW, waitW = "cs-ok-w", "cs-bad-w", "cs-busy-w", "cs-wait-w"
		okO, badO, busyO, waitO = "cs-ok", "cs-bad", "cs-busy", "cs-wait"
		damagedO                = "cs-damaged"
	)
	src.putPolicy(okW, policyFor(src.fake, nil))
	src.putPolicy(badW, policyFor(refusing, nil))
	src.putPolicy(busyW, policyFor(busy, nil))
	src.putPolicy(waitW, policyFor(src.fake, map[string]any{"only_last_attempt": true}))
	for _, o := range []struct{ order, widget string }{{okO, okW}, {badO, badW}, {busyO, busyW}} {
		src.mustPost(ordered(o.order, o.widget, nil), dialed(o.order, o.widget, 1), answered(o.order, o.widget, 1))
	}
	src.mustPost(ordered(waitO, waitW, nil), dialed(waitO, waitW, 1), failed(waitO, waitW, 1, "no_answer"))
	writeRecord(canonicalEnvelope(t, "call.dialed", damagedO, okW, map[string]any{"attempt": "one"}, nil))

	src.waitForStatus(okO, 1, "delivered")
	src.waitForStatus(badO, 1, "failed")
	src.waitForStatus(waitO, 1, "waiting")
	eventually(t, "two tries of the pending lead", func() (bool, string) {
		d, _ := src.mustOrder(busyO).decision(1)
		return len(d.Tries) >= 2 && d.Status == "pending", d.String()
	})
	aside := listQuarantine(t, src)
	if len(aside) != 1 || aside[0].OrderID == nil || *aside[0].OrderID != damagedO {
		t.Fatalf("source quarantine: %+v, want the damaged record of %s", aside, damagedO)
	}
	if err := src.stop(); err != nil {
		t.Fatal(err)
	}
	before := map[*calltouchfake.Server]int{src.fake: len(src.fake.Requests()), refusing: len(refusing.Requests()), busy: len(busy.Requests())}

	dbName := fmt.Sprintf("%s%d_%s", dbPrefix, os.Getpid(), randomHex(6))
	if err := adminExec(`CREATE DATABASE "` + dbName + `"`); err != nil {
		t.Fatal(err)
	}
	dbURL := "postgres://postgres@127.0.0.1:5432/" + dbName + "?sslmode=disable"
	stdout, stderr, code := src.cli("copy-store", "--to", dbURL)
	if code != 0 {
		_ = adminExec(`DROP DATABASE IF EXISTS "` + dbName + `" WITH (FORCE)`)
		t.Fatalf("copy-store: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "1 delivered, 1 failed, 1 pending") || !strings.Contains(stderr, "copy-store:") {
		t.Errorf("copy-store's report and progress:\n%s%s", stdout, stderr)
	}
	busy.SetDefault(calltouchfake.OK())
	target := serveOn(t, dbName, dbURL)
	if _, stderr, code := target.cli("copy-store", "--to", dbURL); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("copy-store into the filled target: exit %d, want 1 saying it is not empty\n%s", code, stderr)
	}

	busyLead := target.waitForStatus(busyO, 1, "delivered")
	target.mustPost(lastAttempt(waitO, waitW, 1))
	waitLead := target.waitForStatus(waitO, 1, "delivered")
	if d, _ := target.mustOrder(okO).decision(1); d.Status != "delivered" || len(d.Tries) != 1 {
		t.Errorf("delivered lead on the target: %s", d)
	}
	if d, _ := target.mustOrder(badO).decision(1); d.Status != "failed" {
		t.Errorf("failed lead on the target: %s", d)
	}
	if page := target.leads("status=pending"); len(page.Leads) != 0 {
		t.Errorf("leads still pending on the target: %+v", page.Leads)
	}
	// Per key: the target sent the pending lead once (accepted) and the
	// waiting one once, and nothing of the delivered or failed ones.
	wantNew := map[*calltouchfake.Server]map[string][]int{
		src.fake: {*waitLead.Key: {200}},
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
func serveOn(t *testing.T, dbName, dbURL string) *engine {
	p := &process{env: defaultEnv(), client: newClient(), stderr: &syncBuffer{}, dbName: dbName, dbURL: dbURL, fake: calltouchfake.New()}
	t.Cleanup(func() {
		if err := p.shutdown(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("target serve stderr:\n%s", p.logs())
		}
	})
	if err := p.start(); err != nil {
		t.Fatalf("serve on %s: %v", dbName, err)
	}
	return &engine{t: t, process: p}
}

func listQuarantine(t *testing.T, e *engine) []listedRecord {
	stdout, stderr, code := e.cli("quarantine", "--json")
	if code != 0 {
		t.Fatalf("ctjournal quarantine --json: exit %d\n%s", code, stderr)
	}
	var out []listedRecord
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("ctjournal quarantine --json: %v\n%s", err, stdout)
	}
	return out
}
