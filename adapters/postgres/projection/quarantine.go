package projection

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/adapters/postgres/quarantine"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// A record the projection cannot apply, whatever the reason, is tried
// again a few times with backoff (watermill's Retry middleware) and then
// set aside (its PoisonQueue middleware, whose publisher calls poisonSetter)
// while the projection goes on with the records after it.
//
// A record can also fail where no handler sees it: at the batch's flush,
// when PostgreSQL refuses a value the whole batch writes in one statement
// (a time out of its range, say). The batch is then rolled back whole, and
// polled again after a pause in careful mode: each record is applied and
// written alone, in a savepoint, so the one at fault fails in its own
// handler, goes through Retry and PoisonQueue like any other, and the
// records around it are written once, with the offset, as usual.

// poisonSetter sets a record aside in ctj_poison within the subscriber's
// transaction, for the poison queue, so the record leaves the log's way
// exactly when the offset moves past it.
type poisonSetter struct{ logger watermill.LoggerAdapter }

func (p poisonSetter) setAside(msg *message.Message) error {
	ctx := msg.Context()
	g, ok := guardOf(ctx)
	if !ok {
		return errors.New("set a record aside: no subscriber transaction in the message context")
	}
	rec, err := logRecord(msg)
	if err != nil {
		return fmt.Errorf("set a record aside: %w", err)
	}
	reason := msg.Metadata.Get("reason_poisoned")
	g.applying.Lock()
	defer g.applying.Unlock()
	if ctx.Err() != nil {
		// The subscriber gave the record up and commits without it.
		return fmt.Errorf("set record %d aside: %w", rec.Position, pgdb.ErrGivenUp)
	}
	if err := quarantine.SetAside(ctx, g.q.Tx, msg.UUID, rec, msg.Metadata, reason); err != nil {
		return err
	}
	p.logger.Error("log record set aside (quarantined): the projection goes on without it", errors.New(quarantine.ShortReason(reason)),
		watermill.LogFields{"position": rec.Position, "order_id": quarantine.NamedOrder(rec.Payload)})
	return nil
}

// batchRecovery is what the projection's transactions share about failed
// batches: after a batch fails to be written, the next batch is applied in
// careful mode, after a pause that doubles while batches keep failing.
type batchRecovery struct {
	mu       sync.Mutex
	careful  bool
	failures int
	pause    bool // the subscriber should pause before its next poll
}

// Pauses after a failed batch: the first, and the longest.
const (
	firstRecoveryPause = 100 * time.Millisecond
	maxRecoveryPause   = 5 * time.Second
)

// failed notes a batch that could not be written because of err. A store
// that went away is not a record's fault: its batch is polled again as it
// was, once the store is back.
func (r *batchRecovery) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures++
	r.pause = true
	if !pgdb.IsConnectionError(err) {
		r.careful = true
	}
}

// committed notes a batch of records written: careful mode, when it was
// on, has done its work.
func (r *batchRecovery) committed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.careful, r.failures, r.pause = false, 0, false
}

func (r *batchRecovery) isCareful() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.careful
}

// pauseBeforePoll is how long to wait before the next poll; 0 when no
// batch failed since the last one.
func (r *batchRecovery) pauseBeforePoll() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pause {
		return 0
	}
	r.pause = false
	d := firstRecoveryPause << min(r.failures-1, 10)
	return min(d, maxRecoveryPause)
}

// applyAlone applies one record of a careful batch and writes it at once,
// in a savepoint: a record whose write fails is undone alone, and its error
// is its handler's, so Retry tries it again and PoisonQueue sets it aside.
// Its leads are left to the delivery worker's claim rounds.
func (t *guardedTx) applyAlone(ctx context.Context, position int64, apply func() error) error {
	// Undoing must run even once the subscriber gave the record up.
	bg := context.WithoutCancel(ctx)
	if _, err := t.q.Tx.ExecContext(bg, `SAVEPOINT ctj_record`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	t.batch = newProjectionBatch(t.q)
	defer func() {
		if r := recover(); r != nil {
			t.batch = newProjectionBatch(t.q)
			_, _ = t.q.Tx.ExecContext(bg, `ROLLBACK TO SAVEPOINT ctj_record; RELEASE SAVEPOINT ctj_record`)
			panic(r)
		}
	}()
	err := apply()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", pgdb.ErrGivenUp, ctx.Err())
	}
	if err == nil {
		var queued queuedLeads
		if queued, err = t.batch.flush(ctx, nil, nil); err == nil {
			t.unclaimed = t.unclaimed || queued.unclaimed
		} else {
			err = fmt.Errorf("record %d: %w", position, err)
		}
	}
	t.batch = newProjectionBatch(t.q)
	if err != nil {
		if _, rbErr := t.q.Tx.ExecContext(bg, `ROLLBACK TO SAVEPOINT ctj_record; RELEASE SAVEPOINT ctj_record`); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := t.q.Tx.ExecContext(bg, `RELEASE SAVEPOINT ctj_record`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
