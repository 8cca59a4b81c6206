package projection

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/app"
	"ctjournal/domain"
)

// ReadModel is the projection's store (app.ReadModel). Its methods run in
// the transaction ctx carries: the projection's, committed with the log
// offset, so a record is applied exactly once.
type ReadModel struct{ db *sql.DB }

func NewReadModel(db *sql.DB) *ReadModel { return &ReadModel{db: db} }

func (m *ReadModel) RecordPolicy(ctx context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	return inBatch(ctx, m.db, func(b *projectionBatch) error {
		if err := b.recordPolicy(ctx, c, position, recordedAt); err != nil {
			return fmt.Errorf("record policy %s v%d: %w", c.WidgetID, c.Version, err)
		}
		return nil
	})
}

// PolicyInForce is the highest version the projection has seen: versions
// are numbered under a lock, so the highest is the latest change even if two
// changes reached the log out of their numbering.
func (m *ReadModel) PolicyInForce(ctx context.Context, widgetID string) (domain.Placement, error) {
	if b := batchOf(ctx); b != nil {
		return b.policyInForce(ctx, widgetID)
	}
	return pgrows.LatestPlacement(ctx, pgdb.On(ctx, m.db), widgetID)
}

func (m *ReadModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	return inBatch(ctx, m.db, func(b *projectionBatch) error { return b.updateOrder(ctx, orderID, fold) })
}

func (m *ReadModel) RecordTry(ctx context.Context, t app.DeliveryTried, position int64) error {
	return m.leadEvent(ctx, leadEventRowOf(position, t.Key, t.Try, t.At, t.DurationMS, t.HTTPStatus, t.Response, t.Error,
		string(t.Outcome), app.StatusAfterTry(t.Outcome)))
}

func (m *ReadModel) RecordGiveUp(ctx context.Context, g app.LeadGivenUp, position int64) error {
	return m.leadEvent(ctx, leadEventRowOf(position, g.Key, 0, g.At, 0, 0, "", g.Reason, app.LeadGivenUpEvent, app.StatusFailed))
}

func (m *ReadModel) RecordRedelivery(ctx context.Context, r app.RedeliveryRequested, position int64) error {
	return m.leadEvent(ctx, leadEventRowOf(position, r.Key, 0, r.At, 0, 0, "", "", app.LeadRedeliveryRequestedEvent, app.StatusPending))
}

func (m *ReadModel) leadEvent(ctx context.Context, r leadEventRow) error {
	return inBatch(ctx, m.db, func(b *projectionBatch) error { b.leadEvent(r); return nil })
}

// batchOf is the unit of work of the projection transaction ctx carries,
// if any.
func batchOf(ctx context.Context) *projectionBatch {
	if g, ok := guardOf(ctx); ok {
		return g.batch
	}
	return nil
}

// inBatch runs fn on the unit of work of the projection transaction ctx
// carries, written at its commit. Outside the projection's subscriber (a
// rebuild's catch-up, tests) fn gets a unit of its own, written at once.
func inBatch(ctx context.Context, db *sql.DB, fn func(b *projectionBatch) error) error {
	if b := batchOf(ctx); b != nil {
		return fn(b)
	}
	return pgdb.InTx(ctx, db, func(ctx context.Context, tx *sql.Tx) error {
		b := newProjectionBatch(tx)
		if err := fn(b); err != nil {
			return err
		}
		queued, err := b.flush(ctx, nil, nil) // for the claim rounds
		if err != nil || !queued.unclaimed {
			return err
		}
		return pgdb.Notify(ctx, tx, pgdb.ChannelDeliveries)
	})
}
