package postgres

import (
	"slices"

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
	claim, n := handoff.Reserve(len(b.leads))
	q.claim = claim
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
