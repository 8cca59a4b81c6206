package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The HTTP floor is the least any HTTP front to the log must pay: a bare
// net/http server whose handler reads the body and INSERTs it, one
// autocommitted single-row INSERT into bench_raw as the single-event
// baseline does, and answers 202. No parsing, no validation. It runs in a
// process of its own, as serve does: this program run again as
// `ctjbench http-floor`, with the database in DATABASE_URL. It prints its
// address on stdout (one line) once its pool is open and it listens, and
// serves until it is killed or its stdin closes, so it ends with the
// process that started it, however that one ends.
const floorCommand = "http-floor"

// floorPool is the floor server's connection pool: room for the 8 clients.
const floorPool = 16

// floorChild reports whether this process is the floor's server.
func floorChild() bool { return len(os.Args) > 1 && os.Args[1] == floorCommand }

// serveFloor is the floor server's main.
func serveFloor() int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "ctjbench %s: %v\n", floorCommand, err)
		return 1
	}
	db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	if err != nil {
		return fail(err)
	}
	db.SetMaxOpenConns(floorPool)
	db.SetMaxIdleConns(floorPool)
	// The pool is opened before the address is printed, as the baseline's
	// connections are before its clock starts: no backend is forked while
	// the floor is measured.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	conns, err := openConns(ctx, db, floorPool)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("connect to the database: %w", err))
	}
	closeAll(conns)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Println(l.Addr())
	return fail(http.Serve(l, floorHandler(db)))
}

// floorHandler stores each request's body as one row of bench_raw and
// answers as POST /v1/events does for one new event; any error is a 500.
func floorHandler(db *sql.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			_, err = db.ExecContext(r.Context(), insertOne, uuid.NewString(), body, emptyMetadata)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":1,"duplicates":0}`)
	})
}

// floorServer is a running floor server, seen from the benchmark.
type floorServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser // the server ends when this closes
	base   string         // http://127.0.0.1:port
	stderr bytes.Buffer   // read only once exited is closed
	exited chan struct{}
}

// startFloor starts the floor server on the database at databaseURL and
// waits until it listens. It is killed when ctx ends.
func startFloor(ctx context.Context, databaseURL string) (*floorServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	f := &floorServer{cmd: exec.CommandContext(ctx, self, floorCommand), exited: make(chan struct{})}
	f.cmd.Env = append(os.Environ(), "DATABASE_URL="+databaseURL)
	f.cmd.Stdout, f.cmd.Stderr = stdoutW, &f.stderr
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		stdoutW.Close()
		return nil, err
	}
	err = f.cmd.Start()
	stdoutW.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s %s: %w", self, floorCommand, err)
	}
	go func() { _ = f.cmd.Wait(); close(f.exited) }()
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a != "" {
			f.base = "http://" + a
			return f, nil
		}
		err = fmt.Errorf("it exited") // its stdout closed without an address
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("no address after 30 s")
	}
	f.stop()
	return nil, fmt.Errorf("the HTTP floor's server did not start: %w: %s", err, strings.TrimSpace(f.stderr.String()))
}

func (f *floorServer) pid() int { return f.cmd.Process.Pid }

// stop kills the server and waits until it has ended.
func (f *floorServer) stop() {
	f.stdin.Close()
	_ = f.cmd.Process.Kill()
	<-f.exited
}

// httpFloor measures the single-event load, as ctjournal's side does,
// against the floor server, on streams of its own. It is nil, with a note,
// when the floor could not be measured: the other figures go on without it.
func (b *bench) httpFloor(ctx context.Context) *throughput {
	streams, err := b.singleStreams(b.p.singleClients, b.p.singlePerClient, false)
	if err == nil {
		b.floor, err = startFloor(ctx, b.db.url)
	}
	if err != nil {
		b.res.note("ingest single: the HTTP floor was not measured: %v", err)
		return nil
	}
	defer func() { b.floor.stop(); b.floor = nil }()
	t := b.ingestSingle(ctx, "ingest single: HTTP floor", "bare HTTP + INSERT, 1 event", b.floor.base, streams, b.p.singleDuration)
	if t.Errors > 0 {
		b.res.note("ingest single: HTTP floor: %d requests failed", t.Errors)
	}
	return &t
}
