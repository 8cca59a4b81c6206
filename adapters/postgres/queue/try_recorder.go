package queue

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/domain"
)

// tryRecorder records delivery tries with group commit: the tries that
// finish while a commit is in flight are recorded together in the next
// transaction, one UPDATE and one log insert for all of them. Each try is
// still recorded as soon as a transaction is free: its answer exists only
// in memory until then. No goroutine outlives the work.
type tryRecorder struct {
	db      *sql.DB
	stmts   *pgdb.Statements
	mu      sync.Mutex
	pending []*tryCall
	running bool
	sweeper *queueSweeper
}

// maxTryGroup bounds the tries recorded in one transaction.
const maxTryGroup = 256

type tryCall struct {
	ctx   context.Context
	owner string
	try   app.DeliveryTried
	id    string // its log record's id (tryRecordID)
	next  time.Time
	err   error
	done  chan struct{}
}

func (r *tryRecorder) record(ctx context.Context, owner string, try app.DeliveryTried, next time.Time) error {
	c := &tryCall{ctx: ctx, owner: owner, try: try, id: tryRecordID(owner, try), next: next, done: make(chan struct{})}
	r.mu.Lock()
	r.pending = append(r.pending, c)
	if !r.running {
		r.running = true
		go r.run()
	}
	r.mu.Unlock()
	<-c.done // once handed over, the outcome is the transaction's, not ctx's
	return c.err
}

func (r *tryRecorder) run() {
	for {
		r.mu.Lock()
		group := r.takeGroup()
		if len(group) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		err := r.commit(group)
		if err == nil {
			r.sweeper.tried(len(group))
		}
		for _, c := range group {
			c.err = err
			close(c.done)
		}
	}
}

// takeGroup takes pending calls, one per lead (two tries of one lead, an
// owner's lapsed claim and the next owner's, go in successive groups).
func (r *tryRecorder) takeGroup() []*tryCall {
	var group, rest []*tryCall
	keys := map[domain.LeadKey]bool{}
	for _, c := range r.pending {
		if keys[c.try.Key] || len(group) == maxTryGroup {
			rest = append(rest, c)
			continue
		}
		keys[c.try.Key] = true
		group = append(group, c)
	}
	r.pending = rest
	return group
}

// tryRow is one try's move of its queue row.
type tryRow struct {
	Key           domain.LeadKey `json:"key"`
	Status        string         `json:"status"`
	NextAttemptAt time.Time      `json:"next_attempt_at"`
	At            time.Time      `json:"at"`
	Owner         string         `json:"owner"`
}

// commit records the group's tries. A try's log record has an id of its
// own (tryRecordID), so a try recorded again, after a commit whose answer
// was lost (the connection dropped at COMMIT), is refused by the log's
// unique uuid: it was recorded then, its queue row moved with it, and the
// rest of the group is committed without it.
func (r *tryRecorder) commit(group []*tryCall) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), 30*time.Second)
	defer cancel()
	for {
		err := r.commitOnce(ctx, group)
		if !pgdb.HasCode(err, "23505") {
			return err
		}
		rest, lookErr := r.notYetRecorded(ctx, group)
		switch {
		case lookErr != nil:
			return errors.Join(err, lookErr)
		case len(rest) == len(group):
			return err // not one of ours: nothing to drop
		case len(rest) == 0:
			return nil
		}
		group = rest
	}
}

// notYetRecorded is the group without the tries the log holds already.
func (r *tryRecorder) notYetRecorded(ctx context.Context, group []*tryCall) ([]*tryCall, error) {
	ids := make([]string, len(group))
	for i, c := range group {
		ids[i] = c.id
	}
	var stored []string
	err := r.db.QueryRowContext(ctx, `SELECT array_agg(uuid) FROM ctj_log WHERE uuid = ANY($1)`, pq.Array(ids)).Scan(pq.Array(&stored))
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("look for tries already recorded: %w", err))
	}
	return slices.DeleteFunc(slices.Clone(group), func(c *tryCall) bool { return slices.Contains(stored, c.id) }), nil
}

// tryNamespace names the log record ids of delivery tries.
var tryNamespace = uuid.MustParse("6f0c7e52-4c1d-4b8e-9a2f-2d9b1c7e5a10")

// tryRecordID is the log record id of one try: the same for the same try
// recorded again, different for two owners' tries of one lead (a claim
// that lapsed) or a lead's later tries. It is a UUID version 8 laid out as
// version 7: the try's start in Unix milliseconds, then a SHA-1 of the try
// (as version 5 would hash it). Ids in time order land at the end of the
// log's uuid index, where random ones would each touch a page of their
// own, and after a checkpoint write that page whole into the WAL.
func tryRecordID(owner string, t app.DeliveryTried) string {
	id := uuid.NewSHA1(tryNamespace, fmt.Appendf(nil, "%s\n%s\n%d\n%s", owner, t.Key, t.Try, t.At.UTC().Format(time.RFC3339Nano)))
	ms := uint64(t.At.UnixMilli())
	for i := range 6 {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x80 // version 8; the variant bits stay RFC 9562's
	return id.String()
}

func (r *tryRecorder) commitOnce(ctx context.Context, group []*tryCall) error {
	// In key order, so that groups of several processes lock rows in one order.
	slices.SortFunc(group, func(a, b *tryCall) int { return cmp.Compare(a.try.Key, b.try.Key) })
	rows := make([]tryRow, 0, len(group))
	keys := make([]string, 0, len(group))
	msgs := make([]*message.Message, 0, len(group))
	for _, c := range group {
		keys = append(keys, string(c.try.Key))
		rows = append(rows, tryRow{Key: c.try.Key, Status: queueStatus(c.try.Outcome), NextAttemptAt: c.next, At: c.try.At, Owner: c.owner})
		m, err := pgdb.RecordWithID(c.id, c.try)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	j, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	return pgdb.InTx(ctx, r.db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := (pgdb.PreparedTx{Tx: tx, Stmts: r.stmts}).ExecContext(ctx, moveLeadsOn, string(j), pq.Array(keys)); err != nil {
			return fmt.Errorf("move %d leads on: %w", len(rows), err)
		}
		return pgdb.Publish(ctx, tx, msgs...)
	})
}

// moveLeadsOn moves the queue rows of tried leads ($1, a JSON array, and
// $2, their keys) on. Delivered always lands (even on a lead given up
// meanwhile); a retry schedule only while the lead is still pending
// (another process may have finished it meanwhile). Only the try's own
// claim is released: if it lapsed, the lead may be another owner's by now.
//
// The rows are found through $2, whose length the planner knows, not
// through the JSON, which it guesses at 100 rows: with that guess it
// joined the whole queue by hash, a scan of every row ever queued for
// each group of tries (196 pages at 2,100 leads).
const moveLeadsOn = `UPDATE ctj_deliveries d SET tries = d.tries + 1, status = x.status,
		next_attempt_at = x.next_attempt_at,
		delivered_at = CASE WHEN x.status = 'delivered' THEN x.at ELSE d.delivered_at END,
		claimed_by = CASE WHEN d.claimed_by = x.owner THEN NULL ELSE d.claimed_by END,
		claimed_until = CASE WHEN d.claimed_by = x.owner THEN NULL ELSE d.claimed_until END
	FROM json_to_recordset($1::json) AS x(key text, status text, next_attempt_at timestamptz, at timestamptz, owner text)
	WHERE d.key = ANY ($2::text[]) AND d.key = x.key
		AND (d.status = 'pending' OR (x.status = 'delivered' AND d.status <> 'delivered'))`

// queueStatus is where a try leaves its lead in the queue: a transient
// try leaves it pending, for its next try.
func queueStatus(o domain.TryOutcome) string {
	if s := app.StatusAfterTry(o); s != "" {
		return s
	}
	return app.StatusPending
}
