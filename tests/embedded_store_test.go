package tests

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
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
