// Package sqlitelog is the event log of the embedded store: a watermill-sql
// topic table in one SQLite file, through a SchemaAdapter (Schema) and an
// OffsetsAdapter (Offsets) written for SQLite, on the pure-Go driver
// modernc.org/sqlite (no CGO). docs/embedded-store.md, "The log on SQLite",
// says how the tables look and why.
package sqlitelog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long a statement waits for the write lock that another
// connection to the file holds (another process, or another pool in this
// one) before it fails with SQLITE_BUSY. Writers of one pool never get
// there: they queue for its single connection instead (Open). A subscriber
// holds the lock while its batch is handled, so its AckDeadline should stay
// well below this.
const BusyTimeout = 10 * time.Second

// writerCacheKiB is the writing connection's page cache. SQLite's default,
// 2 MiB, is smaller than what one batch of the projection or one append of
// a thousand events dirties: the rest spilled to the WAL before the commit
// and was read back from it.
const writerCacheKiB = 16 << 10

// walCheckpointPages is how large the WAL grows before a commit copies it
// into the file. SQLite's default, 1000 pages, is less than one append of
// a thousand events writes to it (their rows and the random places of
// their ids in the uuid index), so every append copied the WAL back, with
// two more flushes; a larger WAL is copied back a tenth as often, and a
// page written by several commits is copied once.
const walCheckpointPages = 10000

// readerConns bounds the reading pool: SQLite reads run on the caller's
// goroutine, so more connections than cores gain little.
const readerConns = 4

// Open opens the SQLite file at path for writing, creating the file (not
// its directory) if it is missing.
//
// The file is in WAL mode, so readers never wait for the writer nor the
// writer for readers. Every commit is flushed to disk before it returns
// (synchronous=FULL): an acknowledged append survives kill -9 and power
// loss alike. NORMAL would skip the flush at commit, and survive kill -9
// but not power loss; an append of many events pays for one flush, so the
// flush is kept.
//
// Transactions begin IMMEDIATE, taking the write lock up front: a DEFERRED
// one that read first and writes later cannot take the lock once another
// connection has committed (SQLITE_BUSY_SNAPSHOT, where no busy timeout
// helps). A read-only transaction (sql.TxOptions{ReadOnly: true}) begins
// DEFERRED and takes no lock.
//
// SQLite has one writer at a time, so the pool has one connection: writers
// of this process wait for it in Go, handed it as it frees, instead of
// polling the file's lock. A transaction holds it until it ends, so code
// inside one (a subscriber's handler) must use that transaction, not the
// pool. Reads that should not wait behind writers go through OpenReader.
func Open(path string) (*sql.DB, error) {
	db, err := open(path, url.Values{
		"_busy_timeout": {strconv.FormatInt(BusyTimeout.Milliseconds(), 10)},
		"_synchronous":  {"FULL"},
		"_foreign_keys": {"1"},
		"_txlock":       {"immediate"},
		"_pragma": {
			"cache_size(" + strconv.Itoa(-writerCacheKiB) + ")",
			"wal_autocheckpoint(" + strconv.Itoa(walCheckpointPages) + ")",
		},
	})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := useWAL(db, path); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// useWAL switches the file to WAL mode, which then stays with the file. The
// switch needs the file to itself, and SQLite refuses it at once, without
// waiting out the busy timeout, while another connection opens or switches
// it: it is tried again until BusyTimeout has passed.
func useWAL(db *sql.DB, path string) error {
	deadline := time.Now().Add(BusyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := db.QueryRow(`PRAGMA journal_mode = WAL`).Scan(&mode)
		switch {
		case err == nil && mode == "wal":
			return nil
		case err == nil:
			return fmt.Errorf("open %s: journal mode is %q, not WAL: the file system may not support WAL's shared memory", path, mode)
		case !isBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("open %s: switch to WAL: %w", path, err)
		}
		time.Sleep(wait)
	}
}

func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// OpenReader opens the SQLite file at path, which Open has created, for
// reading only: a pool of several connections that refuse writes
// (query_only). In WAL mode their reads see the last commit and never wait
// for the writer's transaction.
func OpenReader(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	db, err := open(path, url.Values{
		"_busy_timeout": {strconv.FormatInt(BusyTimeout.Milliseconds(), 10)},
		"_query_only":   {"1"},
	})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readerConns)
	db.SetMaxIdleConns(readerConns)
	return db, nil
}

// open opens path as a file: URI, so that no character of the path is
// taken for the start of the driver's parameters, and connects once to
// apply and check them.
func open(path string, params url.Values) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("open SQLite store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), BusyTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}
