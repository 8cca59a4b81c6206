package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newRebuildProgress shows a rebuild's progress: a bar when w is a
// terminal, else a plain line every interval (for logs and pipes).
func newRebuildProgress(w io.Writer, interval time.Duration) rebuildProgress {
	return newProgress(w, interval, "rebuild", "replaying")
}

// newProgress shows the progress of a pass over the log: command names
// the lines, doing what the pass does to each record.
func newProgress(w io.Writer, interval time.Duration, command, doing string) rebuildProgress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w, doing: doing}
	}
	return &lineProgress{w: w, interval: interval, now: time.Now, command: command, doing: doing}
}

type rebuildProgress interface {
	Started(total int64)
	Advanced(n int)
	Stage(what string)
	Close()
}

// barProgress draws a progress bar with the rate and time left.
type barProgress struct {
	w     io.Writer
	doing string
	bar   *progressbar.ProgressBar
}

func (p *barProgress) Started(total int64) {
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.doing+" the log"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *barProgress) Advanced(n int) { _ = p.bar.Add(n) }

func (p *barProgress) Stage(what string) {
	if p.bar != nil && !p.bar.IsFinished() {
		_ = p.bar.Finish()
	}
	fmt.Fprintln(p.w, what+"…")
}

func (p *barProgress) Close() {}

// lineProgress writes "processed/total, events/s" lines every interval,
// from a ticker so that a slow page still shows the rebuild is alive, and
// a last one when the replay ends.
type lineProgress struct {
	w        io.Writer
	interval time.Duration
	now      func() time.Time
	command  string // names each line
	doing    string

	mu       sync.Mutex
	total    int64
	done     int64
	start    time.Time
	stop     chan struct{}
	stopOnce sync.Once
}

func (p *lineProgress) Started(total int64) {
	p.mu.Lock()
	p.total, p.start, p.stop = total, p.now(), make(chan struct{})
	p.mu.Unlock()
	fmt.Fprintf(p.w, "%s: %s %d log records\n", p.command, p.doing, total)
	go func() {
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.line()
			case <-p.stop:
				return
			}
		}
	}()
}

func (p *lineProgress) line() {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed.Seconds()
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.done) / float64(p.total)
	}
	fmt.Fprintf(p.w, "%s: %d/%d events (%.0f%%), %.0f events/s\n", p.command, p.done, p.total, pct, rate)
}

func (p *lineProgress) Advanced(n int) {
	p.mu.Lock()
	p.done += int64(n)
	p.mu.Unlock()
}

// Stage ends the replay's lines with a last one, then names the stage.
func (p *lineProgress) Stage(what string) {
	p.stopOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
			p.line()
		}
	})
	fmt.Fprintf(p.w, "%s: %s\n", p.command, what)
}

func (p *lineProgress) Close() {
	p.stopOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
		}
	})
}
