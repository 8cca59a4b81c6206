package projection

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
}

func NewOutbox(db *sql.DB, giveUpAfter time.Duration) *Outbox {
	return &Outbox{db: db, giveUpAfter: giveUpAfter}
}

// Enqueue adds the lead once; a key already queued is left as it is.
func (o *Outbox) Enqueue(ctx context.Context, lead app.Lead) error {
	return inBatch(ctx, o.db, func(b *projectionBatch) error {
		b.enqueue(deliveryRow{Key: lead.Key, OrderID: lead.OrderID, WidgetID: lead.WidgetID, Payload: lead.Payload,
			DecidedAt: lead.DecidedAt, DeadlineAt: lead.DecidedAt.Add(o.giveUpAfter)})
		return nil
	})
}
