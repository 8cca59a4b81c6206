package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// profiler is the opt-in -profile mode: during each measured phase it takes
// a Go CPU profile of ctjournal (through CTJ_DEBUG_ADDR's net/http/pprof)
// and samples PostgreSQL's pg_stat_activity (and, where the server loads
// pg_stat_statements, each statement's time and WAL), so a figure can be explained
// by where both processes spent their time. Files go to dir.
type profiler struct {
	dir     string
	seconds int
	db      *sql.DB
	dbName  string
}

var spaces = regexp.MustCompile(`\s+`)

// phase profiles one phase; the returned function ends it and writes
// <dir>/<phase>.pprof and <dir>/<phase>.pg.txt.
func (p *profiler) phase(debugAddr, name string) func() {
	if p == nil {
		return func() {}
	}
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	ctx := context.Background()
	var wg sync.WaitGroup
	if debugAddr != "" {
		wg.Go(func() { p.goProfile(ctx, debugAddr, filepath.Join(p.dir, slug+".pprof")) })
		// Where serve's goroutines wait, midway through the profile (past the
		// delivery burst's first seconds, spent on held requests): the
		// off-CPU half of the picture.
		wg.Go(func() {
			time.Sleep(time.Duration(max(3, p.seconds/2)) * time.Second)
			p.saveURL("http://"+debugAddr+"/debug/pprof/goroutine?debug=1", filepath.Join(p.dir, slug+".goroutines.txt"))
		})
	}
	before := p.statements(ctx)
	sampling, stop := context.WithCancel(ctx)
	counts := map[string]int{}
	samples := 0
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-sampling.Done():
				return
			case <-t.C:
			}
			samples++
			p.sample(sampling, counts)
		}
	})
	return func() {
		stop()
		wg.Wait()
		p.writeSamples(filepath.Join(p.dir, slug+".pg.txt"), name, counts, samples)
		if before != nil {
			writeStatements(filepath.Join(p.dir, slug+".statements.txt"), name, before, p.statements(ctx))
		}
	}
}

func (p *profiler) goProfile(ctx context.Context, addr, path string) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, p.seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		say("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		say("profile: %s answered %d (is CTJ_DEBUG_ADDR supported by this binary?)", url, resp.StatusCode)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}

// sample counts, for each active backend of the run's database, its query
// (whitespace collapsed) and what it waits on.
func (p *profiler) sample(ctx context.Context, counts map[string]int) {
	rows, err := p.db.QueryContext(ctx, `SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU'), query
		FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`, p.dbName)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var wait, query string
		if rows.Scan(&wait, &query) == nil {
			q := spaces.ReplaceAllString(strings.TrimSpace(query), " ")
			if len(q) > 160 {
				q = q[:160] + "…"
			}
			counts[fmt.Sprintf("%-24s %s", wait, q)]++
		}
	}
}

func (p *profiler) writeSamples(path, phase string, counts map[string]int, samples int) {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return counts[b] - counts[a] })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %d samples of pg_stat_activity every 20 ms; backends active per sample, by wait and query\n", phase, samples)
	for _, k := range keys {
		fmt.Fprintf(&sb, "%6.2f  %s\n", float64(counts[k])/float64(max(samples, 1)), k)
	}
	_ = os.WriteFile(path, []byte(sb.String()), 0o644)
}

// goroutines saves serve's goroutine dump (a projection that stopped
// moving: where is it waiting?) to <dir>/<name>-<time>.goroutines.txt.
func (p *profiler) goroutines(debugAddr, name string) {
	if debugAddr == "" {
		return
	}
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	path := filepath.Join(p.dir, fmt.Sprintf("%s-%s.goroutines.txt", slug, time.Now().Format("150405")))
	if p.saveURL("http://"+debugAddr+"/debug/pprof/goroutine?debug=2", path) {
		say("saved serve's goroutines to %s", path)
	}
}

func (p *profiler) saveURL(url, path string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err == nil
}
