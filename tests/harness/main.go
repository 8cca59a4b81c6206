// Package harness runs ctjournal end to end, for the tests in tests/ and
// the bench: it builds the real binary once, starts `ctjournal serve` on a
// fresh PostgreSQL database (or the embedded store) with a fake Calltouch,
// talks to it only through its HTTP API and CLI, holding every exchange to
// docs/openapi.yaml and failing on any 5xx but 503, and builds the call
// events it is sent.
//
// PostgreSQL must accept postgres@127.0.0.1:5432 without a password.
package harness

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver of the maintenance database and of OpenDB
)

// AdminURL is the maintenance database the harness creates test databases from.
const AdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DBPrefix names every database the suite creates: ctj_e2e_<pid>_<random>,
// so a later run can recognise and drop what a killed run left behind.
const DBPrefix = "ctj_e2e_"

// WaitLimit bounds every wait for something to happen; a test that waits
// longer fails with what it was waiting for. It is generous because the
// suite may share a small machine, and PostgreSQL, with other work.
const WaitLimit = 30 * time.Second

// Settle is how long "nothing else happens" is given to be disproved.
const Settle = 500 * time.Millisecond

// Binary is the ctjournal Run builds once.
var Binary string

// Main is the TestMain of an end-to-end test package: it runs the tests
// with the binary built once, eight at a time unless -parallel says
// otherwise, and exits.
func Main(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on engines and the fake; let more of them wait
	// at once than the machine has cores, unless -parallel was given.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(run(m))
}

// run runs the tests with the binary built once, and returns their exit
// code.
func run(m *testing.M) int {
	// The binary's path deliberately avoids the word ctjournal, so that
	// someone stopping their own engine by name (pkill -f "ctjournal serve")
	// does not stop the suite's engines too.
	dir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	Binary = filepath.Join(dir, "e2e-engine")
	if err := BuildBinary(Binary); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ctjournal failed:", err)
		return 1
	}
	dropAbandonedDatabases()
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = max(code, 1)
	}
	return code
}

// BuildBinary builds cmd/ctjournal from the module root; flags go to
// go build.
func BuildBinary(out string, flags ...string) error {
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), "ctjournal/cmd/ctjournal")...)
	cmd.Dir = ModuleRoot()
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, output)
	}
	return nil
}

// dropAbandonedDatabases drops test databases left by a run killed before
// its cleanup: their creating process is gone and nobody is connected.
func dropAbandonedDatabases() {
	db, err := sql.Open("postgres", AdminURL)
	if err != nil {
		return
	}
	defer db.Close()
	rows, err := db.Query(`SELECT datname FROM pg_database d WHERE datname LIKE 'ctj\_e2e\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, DBPrefix), "_")
		pid, err := strconv.Atoi(pidText)
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		_, _ = db.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	}
}

// ModuleRoot is the directory of go.mod.
func ModuleRoot() string {
	if gomod, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if path := strings.TrimSpace(string(gomod)); path != "" && path != os.DevNull {
			return filepath.Dir(path)
		}
	}
	return ".."
}
