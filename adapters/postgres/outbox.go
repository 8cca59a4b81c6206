package postgres

import (
	"context"
	"database/sql"
	"time"

	"ctjournal/app"
)

// Outbox queues leads decided "send" in the projection's transaction
// (app.Outbox): the decision and its queue row commit together.
type Outbox struct {
	db          *sql.DB
	giveUpAfter time.Duration
	handoff     app.LeadHandoff
}

func NewOutbox(db *sql.DB, giveUpAfter time.Duration) *Outbox {
	return &Outbox{db: db, giveUpAfter: giveUpAfter}
}

// HandingOverTo makes the projection's batches queue leads claimed for
// this process's delivery worker while it has try slots free, and hand
// them over once committed (app.LeadHandoff).
func (o *Outbox) HandingOverTo(h app.LeadHandoff) *Outbox {
	o.handoff = h
	return o
}

// Enqueue adds the lead once; a key already queued is left as it is.
func (o *Outbox) Enqueue(ctx context.Context, lead app.Lead) error {
	return inBatch(ctx, o.db, func(b *projectionBatch) error {
		b.handoff = o.handoff
		b.enqueue(deliveryRow{Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID, Payload: lead.Payload,
			DecidedAt: lead.DecidedAt, DeadlineAt: lead.DecidedAt.Add(o.giveUpAfter)})
		return nil
	})
}
