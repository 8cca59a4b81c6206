package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// rebuildResult is one `ctjournal rebuild` over the stored log.
type rebuildResult struct {
	Available     bool    `json:"available"`
	Note          string  `json:"note,omitempty"`
	StoredEvents  int     `json:"stored_events"`
	Events        int     `json:"events"`         // as the command reports
	ReportedPerS  float64 `json:"reported_per_s"` // as the command reports
	WallSeconds   float64 `json:"wall_seconds"`   // process start to exit
	PerS          float64 `json:"events_per_s"`   // events / wall seconds
	PeakRSSMB     float64 `json:"peak_rss_mb"`    // wait4 ru_maxrss
	PolledHWMMB   float64 `json:"polled_vmhwm_mb"`
	ScanPerS      float64 `json:"baseline_scan_per_s"`
	ScanSeconds   float64 `json:"baseline_scan_seconds"`
	LastLine      string  `json:"last_line,omitempty"`
	ServePeakRSSM float64 `json:"serve_peak_rss_mb"` // the serve process stopped before it
	CPUSeconds    float64 `json:"cpu_seconds"`       // user + system
}

// rebuiltLine is the last line `ctjournal rebuild` prints.
var rebuiltLine = regexp.MustCompile(`rebuilt (\d+) events in (\S+) \(([\d.]+) events/s\)`)

// parseRebuilt reads "rebuilt N events in D (X events/s)" from the output's
// last line that has it.
func parseRebuilt(output string) (events int, perS float64, line string, ok bool) {
	for _, l := range splitLines(output) {
		if m := rebuiltLine.FindStringSubmatch(l); m != nil {
			events, _ = strconv.Atoi(m[1])
			perS, _ = strconv.ParseFloat(m[3], 64)
			line, ok = strings.TrimSpace(l), true
		}
	}
	return events, perS, line, ok
}

// splitLines splits on newlines and carriage returns (a progress bar
// redraws its line with \r).
func splitLines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

// runRebuild runs `ctjournal rebuild` with serve stopped, and measures its
// wall time and peak RSS (wait4's ru_maxrss, and VmHWM polled as a check).
func (b *bench) runRebuild(ctx context.Context) rebuildResult {
	var res rebuildResult
	ctx, cancel := context.WithTimeout(ctx, b.p.rebuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cfg.bin, "rebuild")
	cmd.Env = engineEnv(b.storeEnv())
	var out bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var echo sync.WaitGroup
	echo.Go(func() { echoLines(pr, &out, "  rebuild | ") })
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		echo.Wait()
		res.Note = "could not start: " + err.Error()
		return res
	}
	hwm := make(chan float64, 1)
	go func() { hwm <- pollHWM(cmd.Process.Pid) }()
	waitErr := cmd.Wait()
	res.WallSeconds = time.Since(start).Seconds()
	pw.Close()
	echo.Wait()
	res.PolledHWMMB = <-hwm
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.PeakRSSMB = float64(ru.Maxrss) / 1024
	}
	res.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	output := out.String()
	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit) && exit.ExitCode() == 2 && strings.Contains(output, "unknown command"):
		res.Note = "`ctjournal rebuild` does not exist in this binary yet (exit 2, unknown command)"
		res.PeakRSSMB, res.PolledHWMMB, res.WallSeconds = 0, 0, 0
		return res
	case waitErr != nil:
		res.Note = fmt.Sprintf("ctjournal rebuild failed: %v: %s", waitErr, lastLines(output, 5))
		return res
	}
	events, perS, line, ok := parseRebuilt(output)
	if !ok {
		res.Note = "ctjournal rebuild did not end with \"rebuilt N events in D (X events/s)\": " + lastLines(output, 3)
		return res
	}
	res.Available, res.Events, res.ReportedPerS, res.LastLine = true, events, perS, line
	res.PerS = float64(events) / res.WallSeconds
	return res
}

// echoLines copies r into all and shows its lines, at most one a second.
func echoLines(r io.Reader, all *bytes.Buffer, prefix string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(scanLinesOrCR)
	var last time.Time
	for sc.Scan() {
		all.Write(sc.Bytes())
		all.WriteByte('\n')
		if time.Since(last) >= time.Second {
			last = time.Now()
			fmt.Fprintln(os.Stderr, prefix+sc.Text())
		}
	}
}

func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// pollHWM reads the process's VmHWM every 50 ms until it exits; the last
// reading before exit is its peak resident memory, in MiB.
func pollHWM(pid int) float64 {
	peak := 0.0
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return peak
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				peak = max(peak, kb/1024)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := splitLines(s)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
