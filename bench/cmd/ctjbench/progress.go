package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints a plain line every interval while a phase runs:
// what is done, of how many, and the rate since it started.
type progress struct {
	label    string
	total    int64 // 0: unknown
	done     atomic.Int64
	started  time.Time
	stop     chan struct{}
	finished sync.WaitGroup
	extra    func() string
}

func startProgress(label string, total int, every time.Duration) *progress {
	p := &progress{label: label, total: int64(total), started: time.Now(), stop: make(chan struct{})}
	p.finished.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print()
			}
		}
	})
	return p
}

func (p *progress) add(n int) { p.done.Add(int64(n)) }

func (p *progress) print() {
	el := time.Since(p.started)
	done := p.done.Load()
	line := fmt.Sprintf("  %-28s %6.1fs  %s", p.label, el.Seconds(), thousands(float64(done)))
	if p.total > 0 {
		line += fmt.Sprintf(" / %s", thousands(float64(p.total)))
	}
	if el > 0 && done > 0 {
		line += fmt.Sprintf("  (%s/s)", thousands(float64(done)/el.Seconds()))
	}
	if p.extra != nil {
		line += "  " + p.extra()
	}
	fmt.Fprintln(os.Stderr, line)
}

func (p *progress) end() {
	close(p.stop)
	p.finished.Wait()
}

// say prints a phase heading.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// thousands formats v rounded, with thin separators: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
