package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// statementTimes is pg_stat_statements at one moment, for the run's
// database: each statement's calls, time (ms) and WAL bytes, by queryid.
type statementTimes map[int64]statementTime

type statementTime struct {
	query     string
	calls     int64
	execMS    float64 // planning included
	planMS    float64
	walBytes  float64
	walFPI    int64
	sharedHit int64
	sharedRd  int64
}

// statements reads pg_stat_statements if the server loads it
// (shared_preload_libraries); nil otherwise, and the phase goes without.
func (p *profiler) statements(ctx context.Context) statementTimes {
	rows, err := p.db.QueryContext(ctx, `SELECT s.queryid, s.query, s.calls, s.total_exec_time + s.total_plan_time, s.total_plan_time, s.wal_bytes, s.wal_fpi,
			s.shared_blks_hit, s.shared_blks_read
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`, p.dbName)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := statementTimes{}
	for rows.Next() {
		var id int64
		var s statementTime
		if rows.Scan(&id, &s.query, &s.calls, &s.execMS, &s.planMS, &s.walBytes, &s.walFPI, &s.sharedHit, &s.sharedRd) == nil {
			out[id] = s
		}
	}
	return out
}

// writeStatements writes what each statement cost between two readings,
// the costliest first.
func writeStatements(path, phase string, before, after statementTimes) {
	if after == nil {
		return
	}
	type row struct {
		statementTime
		id int64
	}
	var rows []row
	var total float64
	for id, a := range after {
		b := before[id]
		d := statementTime{query: a.query, calls: a.calls - b.calls, execMS: a.execMS - b.execMS, planMS: a.planMS - b.planMS,
			walBytes: a.walBytes - b.walBytes, walFPI: a.walFPI - b.walFPI,
			sharedHit: a.sharedHit - b.sharedHit, sharedRd: a.sharedRd - b.sharedRd}
		if d.calls > 0 {
			rows = append(rows, row{d, id})
			total += d.execMS
		}
	}
	slices.SortFunc(rows, func(x, y row) int { return int(y.execMS - x.execMS) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: pg_stat_statements over the phase, %.0f ms of statement time (planning and execution) in all\n", phase, total)
	fmt.Fprintf(&sb, "%10s %8s %9s %9s %10s %8s %10s %8s  %s\n", "ms", "plan ms", "calls", "ms/call", "WAL kB", "FPI", "hit", "read", "query")
	for _, r := range rows {
		q := spaces.ReplaceAllString(strings.TrimSpace(r.query), " ")
		if len(q) > 200 {
			q = q[:200] + "…"
		}
		fmt.Fprintf(&sb, "%10.0f %8.0f %9d %9.3f %10.0f %8d %10d %8d  %s\n", r.execMS, r.planMS, r.calls, r.execMS/float64(r.calls),
			r.walBytes/1024, r.walFPI, r.sharedHit, r.sharedRd, q)
	}
	_ = os.WriteFile(path, []byte(sb.String()), 0o644)
}
