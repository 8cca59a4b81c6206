package rebuild

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/lib/pq"

	"ctjournal/domain"
)

// Seal writes the orders still in memory, derives the statuses of leads
// whose tries came after their order left memory, and gives the copies
// their keys, indexes, sequence values and planner statistics. Indexes are
// built a few at a time, each on a connection of its own.
func (r *rebuildRun) Seal(ctx context.Context) error {
	if err := r.model.flush(); err != nil {
		return err
	}
	r.done = true
	if err := r.writer.close(); err != nil {
		return err
	}
	if err := deriveLeadStatuses(ctx, r.db, r.model.lateKeys); err != nil {
		return err
	}
	var creates, constraints, analyzes []string
	for _, t := range readModelTables {
		plans, err := planIndexes(ctx, r.db, r.live, t)
		if err != nil {
			return err
		}
		for _, p := range plans {
			if p.create != "" {
				creates = append(creates, p.create)
			}
			if p.constraint != "" {
				constraints = append(constraints, p.constraint)
			}
		}
		analyzes = append(analyzes, `ANALYZE `+qualified(rebuildSchema, t))
	}
	if err := runConcurrently(ctx, r.db, sealWorkers, `SET maintenance_work_mem = '256MB'`, creates); err != nil {
		return fmt.Errorf("index the copies: %w", err)
	}
	for _, c := range constraints {
		if _, err := r.db.ExecContext(ctx, c); err != nil {
			return fmt.Errorf("key the copies: %w", err)
		}
	}
	for _, s := range r.serials {
		if _, err := r.db.ExecContext(ctx, fmt.Sprintf(`SELECT setval('%s'::regclass, COALESCE(max(%s), 0) + 1, false) FROM %s`,
			qualified(rebuildSchema, s.sequence), quoteIdent(s.column), qualified(rebuildSchema, s.table))); err != nil {
			return fmt.Errorf("set sequence %s: %w", s.sequence, err)
		}
	}
	if err := runConcurrently(ctx, r.db, sealWorkers, "", analyzes); err != nil {
		return fmt.Errorf("analyze the copies: %w", err)
	}
	return nil
}

// sealWorkers is how many statements sealing runs at once.
const sealWorkers = 3

// runConcurrently runs statements on up to n connections of their own,
// each prepared with setup; it stops at the first error.
func runConcurrently(ctx context.Context, db *sql.DB, n int, setup string, stmts []string) error {
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
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(n, len(stmts)) {
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
			for stmt := range next {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					fail(fmt.Errorf("%s: %w", stmt, err))
					return
				}
			}
		})
	}
feed:
	for _, stmt := range stmts {
		select {
		case next <- stmt:
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
