package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"ctjournal/app"
)

// ProjectionConsumerGroup is the watermill consumer group whose stored
// offset says how far the projection has folded the log.
const ProjectionConsumerGroup = "projection"

// ProjectionConfig tunes the projection's subscription.
type ProjectionConfig struct {
	Batch        int           // log records per poll (and per transaction)
	PollInterval time.Duration // safety-net poll when no wake-up comes
	Wake         <-chan struct{}
}

// NewProjectionRouter subscribes the projection to the log through a
// watermill router. The subscriber hands each record over inside its own
// transaction, and the handler writes the read models in that transaction,
// so read models and the consumer offset commit together: exactly once.
// A record that can never be applied (malformed, or a panic) goes to the
// poison table ctj_poison; anything else is retried until it applies.
func NewProjectionRouter(db *sql.DB, project app.ProjectRecord, cfg ProjectionConfig, logger watermill.LoggerAdapter) (*message.Router, error) {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection router: %w", err)
	}
	sub, err := wsql.NewSubscriber(guardedBeginner{wsql.BeginnerFromStdSQL(db)}, wsql.SubscriberConfig{
		ConsumerGroup: ProjectionConsumerGroup,
		PollInterval:  cfg.PollInterval,
		// A batch whose transaction died (the database restarted) is given
		// up after this and polled afresh, instead of resent into a dead
		// transaction.
		AckDeadline:    ptr(10 * time.Second),
		ResendInterval: 100 * time.Millisecond,
		RetryInterval:  time.Second,
		BackoffManager: &wakeBackoff{wake: cfg.Wake, poll: cfg.PollInterval, retry: time.Second},
		SchemaAdapter:  newLogSchema(cfg.Batch),
		OffsetsAdapter: offsetsAdapter(),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection subscriber: %w", err)
	}
	poisonPub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db), wsql.PublisherConfig{SchemaAdapter: newLogSchema(0)}, logger)
	if err != nil {
		return nil, fmt.Errorf("poison publisher: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(poisonPub, PoisonTopic, permanent)
	if err != nil {
		return nil, fmt.Errorf("poison queue: %w", err)
	}
	router.AddMiddleware(
		poison,
		middleware.Retry{MaxRetries: 3, InitialInterval: 50 * time.Millisecond, Logger: logger,
			ShouldRetry: func(p middleware.RetryParams) bool { return !permanent(p.Err) }}.Middleware,
		middleware.Recoverer,
	)
	router.AddConsumerHandler("projection", LogTopic, sub, func(msg *message.Message) error {
		return applyInSavepoint(msg, project)
	})
	return router, nil
}

func permanent(err error) bool {
	var p *app.PermanentError
	var panicked middleware.RecoveredPanicError
	return errors.As(err, &p) || errors.As(err, &panicked)
}

// applyInSavepoint applies one record inside the subscriber's transaction,
// behind a savepoint: a failed try is rolled back alone, so a retry starts
// clean instead of finding the whole transaction aborted.
func applyInSavepoint(msg *message.Message, project app.ProjectRecord) error {
	ctx := msg.Context()
	tx := txFrom(ctx)
	if tx == nil {
		return errors.New("projection: no subscriber transaction in the message context")
	}
	rec, err := logRecord(msg)
	if err != nil {
		return &app.PermanentError{Err: err}
	}
	if g, ok := guardOf(ctx); ok {
		g.applying.Lock()
		defer g.applying.Unlock()
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT project`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	err = project.Handle(ctx, rec)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("record %d given up by the subscriber: %w", rec.Position, ctx.Err())
	}
	if err != nil {
		// Also when the subscriber gave the record up meanwhile (ack
		// deadline, closing): it commits its transaction next, and must not
		// commit half of this record. ctx may be cancelled by then.
		if _, rbErr := tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT project`); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT project`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// guardedBeginner begins the subscriber's transactions as guardedTx.
type guardedBeginner struct{ wsql.Beginner }

func (b guardedBeginner) BeginTx(ctx context.Context, opts *sql.TxOptions) (wsql.Tx, error) {
	tx, err := b.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &guardedTx{Tx: tx}, nil
}

// guardedTx is a subscriber transaction whose Commit waits for the record
// being applied in it. The subscriber commits as soon as it stops waiting
// for a record (its ack deadline passed, or it is closing), possibly while
// the handler is halfway through; the handler then rolls its record back
// before the commit goes ahead.
type guardedTx struct {
	wsql.Tx
	applying sync.Mutex
}

func (t *guardedTx) Commit() error {
	t.applying.Lock()
	defer t.applying.Unlock()
	return t.Tx.Commit()
}

func guardOf(ctx context.Context) (*guardedTx, bool) {
	wtx, ok := wsql.TxFromContext(ctx)
	if !ok {
		return nil, false
	}
	g, ok := wtx.(*guardedTx)
	return g, ok
}

func logRecord(msg *message.Message) (app.LogRecord, error) {
	pos, err := strconv.ParseInt(msg.Metadata.Get(metaPosition), 10, 64)
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no log position: %w", msg.UUID, err)
	}
	at, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(metaRecordedAt))
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no recorded time: %w", msg.UUID, err)
	}
	return app.LogRecord{Position: pos, RecordedAt: at, Payload: msg.Payload}, nil
}

// wakeBackoff is the subscriber's pause between polls: none after a
// batch, and after an empty poll it waits for a wake-up (a NOTIFY from a
// committed append) or the poll interval, whichever comes first. The poll
// stays as the safety net, so a lost notification costs latency, never data.
//
// A poll right after a wake-up may still find nothing: watermill-sql hides
// records newer than the oldest transaction open anywhere on the server,
// however short. Then it polls again soon, 5 ms doubling up to the poll
// interval, rather than waiting a whole interval for the next wake-up.
type wakeBackoff struct {
	wake        <-chan struct{}
	poll, retry time.Duration
	eager       time.Duration // next quick re-poll after a wake-up; 0 when none
}

const firstEagerPoll = 5 * time.Millisecond

func (b *wakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if err != nil {
		logger.Info("log poll failed; retrying", watermill.LogFields{"err": err.Error()})
		return b.retry
	}
	if !noMsg {
		b.eager = 0
		return 0
	}
	wait := b.poll
	if b.eager > 0 {
		wait = b.eager
		if b.eager *= 2; b.eager > b.poll {
			b.eager = 0
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-b.wake:
		b.eager = firstEagerPoll
	case <-timer.C:
	}
	return 0
}
