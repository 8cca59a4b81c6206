package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	payload, err := json.Marshal(lead.Payload)
	if err != nil {
		return err
	}
	return inTx(ctx, o.db, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_deliveries (key, order_id, widget_id, payload, decided_at, deadline_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (key) DO NOTHING`,
			string(lead.Key), lead.OrderID, lead.WidgetID, string(payload), lead.DecidedAt, lead.DecidedAt.Add(o.giveUpAfter)); err != nil {
			return fmt.Errorf("queue lead %s: %w", lead.Key, err)
		}
		return notify(ctx, tx, ChannelDeliveries)
	})
}
