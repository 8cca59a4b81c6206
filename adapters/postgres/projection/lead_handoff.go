package projection

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"ctjournal/app"
)

// queuedLeads is what a projection batch queued: the leads it claimed for
// this process's delivery worker, to hand over once the batch commits, and
// whether it left any to the worker's claim rounds, which a wake-up calls.
type queuedLeads struct {
	handoff   app.LeadHandoff
	claim     app.HandoffClaim
	claimed   []app.ClaimedLead
	unclaimed bool
}

// claimForHandoff reserves slots of the delivery worker for the batch's
// leads that are due and not past their deadline, and marks that many
// claimed for it. The rest are queued unclaimed, for the claim rounds.
func (b *projectionBatch) claimForHandoff(handoff app.LeadHandoff) queuedLeads {
	q := queuedLeads{handoff: handoff}
	if handoff == nil || len(b.leads) == 0 {
		q.unclaimed = len(b.leads) > 0
		return q
	}
	claim := handoff.Reserve(len(b.leads))
	q.claim = claim
	n := claim.Slots
	for i := range b.leads {
		l := &b.leads[i]
		if n > 0 && !l.DecidedAt.After(claim.Now) && l.DeadlineAt.After(claim.Now) {
			l.ClaimedBy, l.ClaimedUntil = &claim.Owner, &claim.LeaseUntil
			n--
			continue
		}
		q.unclaimed = true
	}
	return q
}

// inserted notes the claimed leads the flush queued: a key queued before
// (a record folded again) stays as it was and is not handed over.
func (q *queuedLeads) inserted(b *projectionBatch, keys []string) {
	for _, l := range b.leads {
		if l.ClaimedBy != nil && slices.Contains(keys, string(l.Key)) {
			q.claimed = append(q.claimed, app.ClaimedLead{
				Lead:       app.Lead{Key: l.Key, OrderID: l.OrderID, WidgetID: l.WidgetID, Payload: l.Payload, DecidedAt: l.DecidedAt},
				DeadlineAt: l.DeadlineAt,
			})
		}
	}
}

// committed hands the claimed leads over. Before that, when the batch was
// committed without waiting for its WAL flush (OpenProjectionPool), it
// waits for the flush, off the projection's path: a lead must not reach
// Calltouch on a decision that a crash of PostgreSQL could still take
// back, for the projection would fold its records again, queue the lead
// afresh and send it a second time. Without the flush (the server went
// away) the leads stay claimed until their lease lapses, then a claim
// round takes them, as after any hand-over that never came.
func (q queuedLeads) committed(onDisk flushWaiter) {
	if q.handoff == nil {
		return
	}
	if len(q.claimed) == 0 || onDisk == nil {
		q.handoff.HandOver(q.claim, q.claimed)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), flushWait)
		defer cancel()
		claimed := q.claimed
		keys := make([]string, len(claimed))
		for i, l := range claimed {
			keys[i] = string(l.Key)
		}
		if err := onDisk(ctx, keys); err != nil {
			claimed = nil
		}
		q.handoff.HandOver(q.claim, claimed)
	}()
}

// flushWait bounds the wait for a batch's flush before a hand-over.
const flushWait = 10 * time.Second

// flushWaiter waits until the WAL is on disk past the commit that queued
// the leads keys name.
type flushWaiter func(ctx context.Context, keys []string) error

// walFlusher rewrites the leads' claims as they stand, in a transaction of
// its own that commits under the server's synchronous_commit: PostgreSQL
// flushes the WAL up to a commit that wrote some, and every commit before
// it with it. A transaction that only takes an id, or an update that finds
// no row, writes none and is not flushed.
func walFlusher(db *sql.DB) flushWaiter {
	return func(ctx context.Context, keys []string) error {
		res, err := db.ExecContext(ctx, `UPDATE ctj_deliveries SET claimed_until = claimed_until WHERE key = ANY ($1)`, pq.Array(keys))
		if err != nil {
			return fmt.Errorf("flush the WAL: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("flush the WAL: none of the %d leads' queue rows was found to rewrite", len(keys))
		}
		return nil
	}
}

func (q queuedLeads) abandoned() {
	if q.handoff != nil {
		q.handoff.HandOver(q.claim, nil)
	}
}
