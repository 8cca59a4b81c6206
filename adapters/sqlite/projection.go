package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"ctjournal/app"
	"ctjournal/app/projectionrouter"
)

// ProjectionConsumerGroup is the projection's consumer group on the log.
const ProjectionConsumerGroup = "projection"

// ProjectionConfig tunes the projection's subscriber.
type ProjectionConfig struct {
	Batch int // log records per poll, applied in one transaction; 100 when 0
	// PollInterval is how often the log is read when idle, 100 ms when 0.
	// An append that commits in this process wakes the projection at once;
	// the poll finds what other processes appended.
	PollInterval time.Duration
	// AckDeadline bounds the handling of a batch's record, 5 s when 0:
	// past it the subscriber gives the record up, commits the batch
	// without it and offers it again.
	AckDeadline time.Duration
}

// NewProjectionRouter consumes the log through watermill-sql's subscriber
// with the SQLite adapters and applies each record through project, in
// the subscriber's transaction: the read models and the offset commit
// together. A record the projection cannot apply is tried again and then
// set aside in the same transaction (ctj_poison), through the router's
// middlewares as on PostgreSQL (projectionrouter), and the log goes on;
// trouble with the file itself fails the record, which is offered again.
func (s *Store) NewProjectionRouter(project app.ProjectRecord, cfg ProjectionConfig, logger watermill.LoggerAdapter) (*message.Router, error) {
	if cfg.Batch == 0 {
		cfg.Batch = 100
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.AckDeadline == 0 {
		cfg.AckDeadline = sqlitelogAckDeadline
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection router: %w", err)
	}
	schema := logSchema
	schema.SubscribeBatchSize = cfg.Batch
	schema.batch = s.turns.projectionBatch
	sub, err := wsql.NewSubscriber(yieldingBeginner{Beginner: wsql.BeginnerFromStdSQL(s.db), turns: &s.turns}, wsql.SubscriberConfig{
		ConsumerGroup:  ProjectionConsumerGroup,
		AckDeadline:    ptr(cfg.AckDeadline),
		ResendInterval: 100 * time.Millisecond,
		BackoffManager: wakeBackoff{
			BackoffManager: wsql.NewDefaultBackoffManager(cfg.PollInterval, time.Second),
			wake:           s.logGrew, poll: cfg.PollInterval,
		},
		SchemaAdapter:  schema,
		OffsetsAdapter: logOffsets,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection subscriber: %w", err)
	}
	middlewares, err := projectionrouter.QuarantineMiddlewares(poisonSetter{logger: logger}.setAside, storeTrouble)
	if err != nil {
		return nil, fmt.Errorf("projection router: %w", err)
	}
	router.AddMiddleware(middlewares...)
	router.AddConsumerHandler("projection", LogTopic, sub, func(msg *message.Message) error {
		return s.apply(msg, project)
	})
	return router, nil
}

// yieldingBeginner begins the subscriber's transactions in the
// projection's turns at the writer (writerTurns), guarded (guardedTx).
type yieldingBeginner struct {
	wsql.Beginner
	turns *writerTurns
}

func (b yieldingBeginner) BeginTx(ctx context.Context, opts *sql.TxOptions) (wsql.Tx, error) {
	b.turns.projectionTurn(ctx)
	tx, err := b.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &guardedTx{Tx: tx}, nil
}

// guardedTx is a subscriber transaction whose own statements, commit and
// rollback wait for the record being applied. The subscriber goes on as
// soon as it stops waiting for a record (its ack deadline passed, or it is
// closing), possibly while the handler is halfway through it: the handler
// then undoes the record (apply) before the subscriber acknowledges the
// records before it and commits, instead of committing half of it.
type guardedTx struct {
	wsql.Tx
	applying sync.Mutex
}

// Unwrap is the subscriber's transaction under the guard.
func (t *guardedTx) Unwrap() wsql.Tx { return t.Tx }

func (t *guardedTx) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	t.applying.Lock()
	defer t.applying.Unlock()
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *guardedTx) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	t.applying.Lock()
	defer t.applying.Unlock()
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *guardedTx) Commit() error {
	t.applying.Lock()
	defer t.applying.Unlock()
	return t.Tx.Commit()
}

func (t *guardedTx) Rollback() error {
	t.applying.Lock()
	defer t.applying.Unlock()
	return t.Tx.Rollback()
}

// wakeBackoff is the subscriber's pause after an empty poll: until an
// append of this process commits, or the poll interval, whichever comes
// first. SQLite commits in offset order, so the poll after a wake-up finds
// the append. Errors and full polls are left to watermill's own manager.
type wakeBackoff struct {
	wsql.BackoffManager
	wake <-chan struct{}
	poll time.Duration
}

func (b wakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if err != nil || !noMsg {
		return b.BackoffManager.HandleError(logger, noMsg, err)
	}
	timer := time.NewTimer(b.poll)
	defer timer.Stop()
	select {
	case <-b.wake:
	case <-timer.C:
	}
	return 0
}

// sqlitelogAckDeadline bounds a batch's handling, below the file's busy
// timeout that other writers wait out.
const sqlitelogAckDeadline = 5 * time.Second

func ptr[T any](v T) *T { return &v }

// apply applies one record in the subscriber's transaction, in a
// savepoint: a try that fails leaves nothing behind, so the next try (or
// the record set aside) starts clean. A record the subscriber gave up
// meanwhile (its ack deadline passed, or it is closing) is undone too: the
// subscriber commits without it and offers it again later.
func (s *Store) apply(msg *message.Message, project app.ProjectRecord) error {
	ctx := msg.Context()
	tx := txOf(ctx)
	if tx == nil {
		return errors.New("projection: no subscriber transaction in the message context")
	}
	rec, err := logRecord(msg)
	if err != nil {
		return err
	}
	if g, ok := wsql.TxFromContext(ctx); ok {
		if guard, ok := g.(*guardedTx); ok {
			guard.applying.Lock()
			defer guard.applying.Unlock()
		}
	}
	s.folded.track(tx)
	// The savepoint is undone even once ctx is done.
	err = inSavepoint(context.WithoutCancel(ctx), s.prepared(tx), func() error {
		if err := safely(func() error { return project.Handle(ctx, rec) }); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("record %d given up by the subscriber: %w", rec.Position, ctx.Err())
		}
		return nil
	})
	if err != nil {
		s.folded.forget()
	}
	return err
}

// safely turns a panic of fn into an error, so that its savepoint is undone
// and the record is tried again like any other that fails.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
