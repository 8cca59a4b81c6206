package sqlitelog_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"ctjournal/adapters/sqlite/sqlitelog"
)

// appenderEnv, when set, makes the test binary the appending process of
// TestLog_AcknowledgedAppendsSurviveKill9, on the file it names.
const appenderEnv = "SQLITELOG_APPENDER_FILE"

// killAfter is how many acknowledged appends the test waits for before it
// kills the appender.
const killAfter = 300

// The appender prints each message's id once Publish has returned; the
// test kills it with SIGKILL while it goes on appending, and every printed
// id must be in the file when it is opened again.
func TestLog_AcknowledgedAppendsSurviveKill9(t *testing.T) {
	if path := os.Getenv(appenderEnv); path != "" {
		appendUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLog_AcknowledgedAppendsSurviveKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), appenderEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start appender: %v", err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		acked = append(acked, lines.Text())
		if len(acked) == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill appender: %v", err)
			}
		}
	}
	err = cmd.Wait()
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || status.Signal() != syscall.SIGKILL {
		t.Fatalf("the appender ended by itself instead of being killed: %v", err)
	}
	if len(acked) < killAfter {
		t.Fatalf("the appender acknowledged %d appends before it ended, want %d", len(acked), killAfter)
	}

	db := openStore(t, path)
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check after kill -9: %s, %v", check, err)
	}
	stored := map[string]bool{}
	rows, err := db.Query(`SELECT uuid FROM ctj_log`)
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var lost int
	for _, id := range acked {
		if !stored[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged appends lost by kill -9", lost, len(acked))
	}
}

// appendUntilKilled appends small batches to the file's log and prints the
// id of each message once its batch is acknowledged, until it is killed.
func appendUntilKilled(path string) {
	db, err := sqlitelog.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db),
		wsql.PublisherConfig{SchemaAdapter: jsonLog, AutoInitializeSchema: true}, watermill.NopLogger{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; ; i += 3 {
		batch := message.Messages{}
		for j := range 3 {
			batch = append(batch, message.NewMessage(fmt.Sprintf("event-%d", i+j), []byte(`{"kind":"test"}`)))
		}
		if err := pub.Publish("log", batch...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, m := range batch {
			fmt.Println(m.UUID)
		}
	}
}
