package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrServeRunning: another serve holds the data directory.
var ErrServeRunning = errors.New("another ctjournal serve is running on this data directory; several serves need PostgreSQL (set DATABASE_URL)")

// LockServe takes the data directory's serve lock (an exclusive flock on
// serve.lock), held until release or the process's end: a second serve on
// the embedded store fails with ErrServeRunning. The other commands take
// no lock and run beside a serve.
func LockServe(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "serve.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrServeRunning
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
