package postgres

import (
	"context"

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
func (b *projectionBatch) claimForHandoff() queuedLeads {
	q := queuedLeads{handoff: b.handoff}
	if b.handoff == nil || len(b.leads) == 0 {
		q.unclaimed = len(b.leads) > 0
		return q
	}
	claim, n := b.handoff.Reserve(len(b.leads))
	q.claim = claim
	for i := range b.leads {
		l := &b.leads[i]
		l.ClaimedBy, l.ClaimedUntil = nil, nil
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
func (q *queuedLeads) inserted(b *projectionBatch, keys map[string]bool) {
	for _, l := range b.leads {
		if l.ClaimedBy != nil && keys[string(l.Key)] {
			q.claimed = append(q.claimed, app.ClaimedLead{
				Lead:       app.Lead{Key: l.Key, OrderID: l.OrderID, WidgetID: l.WidgetID, Payload: l.Payload, DecidedAt: l.DecidedAt},
				DeadlineAt: l.DeadlineAt,
			})
		}
	}
}

// committed hands the claimed leads over; abandoned frees the reserved
// slots of a batch that did not commit.
func (q queuedLeads) committed() {
	if q.handoff != nil {
		q.handoff.HandOver(q.claim, q.claimed)
	}
}

func (q queuedLeads) abandoned() {
	if q.handoff != nil {
		q.handoff.HandOver(q.claim, nil)
	}
}

// queryKeys runs a query returning one text column and collects it.
func queryKeys(ctx context.Context, q querier, query string, args ...any) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	return keys, rows.Err()
}
