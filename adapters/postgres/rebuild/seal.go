package rebuild

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/lib/pq"

	"ctjournal/domain"
)

// Seal writes the orders still in memory, derives the statuses of leads
// whose tries came after their order left memory, and gives the copies
// their keys, indexes, sequence values and planner statistics. Each table
// is sealed by a job of its own, on a connection of its own, the largest
// first: a table's statements follow one another (its keys need its
// indexes, and ANALYZE and CREATE INDEX on one table wait for each other
// anyway), while the tables' jobs run side by side with no step waiting
// for another table's.
func (r *rebuildRun) Seal(ctx context.Context) error {
	if err := r.model.flush(); err != nil {
		return err
	}
	r.done = true
	if err := r.model.close(); err != nil {
		return err
	}
	if err := deriveLeadStatuses(ctx, r.db, r.model.lateKeys); err != nil {
		return err
	}
	jobs := make([]sealJob, 0, len(readModelTables))
	for _, t := range readModelTables {
		job, err := r.sealJob(ctx, t)
		if err != nil {
			return err
		}
		jobs = append(jobs, job)
	}
	slices.SortStableFunc(jobs, func(a, b sealJob) int { return cmp.Compare(b.rows, a.rows) })
	stmts := make([][]string, len(jobs))
	for i, j := range jobs {
		stmts[i] = j.stmts
	}
	if err := runConcurrently(ctx, r.db, sealWorkers, `SET maintenance_work_mem = '256MB'`, stmts); err != nil {
		return fmt.Errorf("seal the copies: %w", err)
	}
	return nil
}

// sealJob is what sealing one table takes, in order.
type sealJob struct {
	rows  int64 // rows the bulk phase wrote: the larger, the longer
	stmts []string
}

func (r *rebuildRun) sealJob(ctx context.Context, table string) (sealJob, error) {
	plans, err := planIndexes(ctx, r.db, r.live, table)
	if err != nil {
		return sealJob{}, err
	}
	// What needs no index comes first: a job left running alone at the end
	// then runs index builds, which PostgreSQL's parallel workers spread
	// over the cores, rather than a statement one process runs.
	job := sealJob{rows: r.writer.rowsWritten(qualified(rebuildSchema, table))}
	for _, s := range r.serials {
		if s.table == table {
			job.stmts = append(job.stmts, fmt.Sprintf(`SELECT setval('%s'::regclass, COALESCE(max(%s), 0) + 1, false) FROM %s`,
				qualified(rebuildSchema, s.sequence), quoteIdent(s.column), qualified(rebuildSchema, s.table)))
		}
	}
	job.stmts = append(job.stmts, `ANALYZE `+qualified(rebuildSchema, table))
	for _, p := range plans {
		if p.create != "" {
			job.stmts = append(job.stmts, p.create)
		}
	}
	for _, p := range plans {
		if p.constraint != "" {
			job.stmts = append(job.stmts, p.constraint)
		}
	}
	return job, nil
}

// sealWorkers is how many tables sealing works on at once.
const sealWorkers = 3

// runConcurrently runs jobs, each a list of statements run in turn, on up
// to n connections of their own, each prepared with setup; it stops at
// the first error.
func runConcurrently(ctx context.Context, db *sql.DB, n int, setup string, jobs [][]string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	next := make(chan []string)
	var wg sync.WaitGroup
	for range min(n, len(jobs)) {
		wg.Go(func() {
			conn, err := db.Conn(ctx)
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close()
			if setup != "" {
				if _, err := conn.ExecContext(ctx, setup); err != nil {
					fail(err)
					return
				}
				defer conn.ExecContext(context.WithoutCancel(ctx), `RESET ALL`)
			}
			for job := range next {
				for _, stmt := range job {
					if _, err := conn.ExecContext(ctx, stmt); err != nil {
						fail(fmt.Errorf("%s: %w", stmt, err))
						return
					}
				}
			}
		})
	}
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// deriveLeadStatuses replays, in SQL, what the live projection does with
// each try, give-up and redelivery of the given leads (ReadModel.leadEvent)
// from the lead as decided: each one counts a try when it is one and moves
// the status, until the lead is delivered, after which nothing moves it.
func deriveLeadStatuses(ctx context.Context, db *sql.DB, keys map[domain.LeadKey]struct{}) error {
	if len(keys) == 0 {
		return nil
	}
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, string(k))
	}
	tries, decisions := qualified(rebuildSchema, "ctj_delivery_tries"), qualified(rebuildSchema, "ctj_decisions")
	_, err := db.ExecContext(ctx, `
		WITH moves AS (
			SELECT key, seq, try, at, status,
				min(seq) FILTER (WHERE status = 'delivered') OVER (PARTITION BY key) AS delivered_seq
			FROM (SELECT key, seq, try, at,
					CASE outcome WHEN 'delivered' THEN 'delivered' WHEN 'refused' THEN 'failed'
						WHEN 'given_up' THEN 'failed' WHEN 'redelivery_requested' THEN 'pending' END AS status
				FROM `+tries+` WHERE key = ANY($1)) t),
		until_delivered AS (
			SELECT * FROM moves WHERE delivered_seq IS NULL OR seq <= delivered_seq),
		lead AS (
			SELECT key, count(*) FILTER (WHERE try > 0) AS tries,
				(array_agg(status ORDER BY seq DESC) FILTER (WHERE status IS NOT NULL))[1] AS status,
				min(at) FILTER (WHERE status = 'delivered') AS delivered_at
			FROM until_delivered GROUP BY key)
		UPDATE `+decisions+` d SET tries = lead.tries, status = COALESCE(lead.status, 'pending'), delivered_at = lead.delivered_at
		FROM lead WHERE d.key = lead.key AND d.decision = 'send'`, pq.Array(list))
	if err != nil {
		return fmt.Errorf("derive lead statuses: %w", err)
	}
	return nil
}
