package app

import (
	"context"
	"time"

	"ctjournal/domain"
)

// RedeliverLead sends a failed lead again: same payload, a new try, a fresh
// give-up deadline. Refused for a delivered or still pending lead.
type RedeliverLead struct {
	queue       DeliveryQueue
	now         func() time.Time
	giveUpAfter time.Duration
}

func NewRedeliverLead(q DeliveryQueue, now func() time.Time, giveUpAfter time.Duration) RedeliverLead {
	return RedeliverLead{queue: q, now: now, giveUpAfter: giveUpAfter}
}

// Handle returns ErrNotFound for an unknown key and *StateError when the
// lead is not failed.
func (h RedeliverLead) Handle(ctx context.Context, key domain.LeadKey) error {
	now := h.now()
	return h.queue.Redeliver(ctx, key, now, now.Add(h.giveUpAfter))
}
