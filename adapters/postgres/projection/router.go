// Package projection folds the log into the read models: the watermill
// router and its guarded transaction, the batch written at commit, the
// outbox of leads and their hand-over to the delivery worker, records
// set aside, and the projection's health.
package projection

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

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/app/projectionrouter"
)

// ProjectionConfig tunes the projection's subscription; zero values take
// the defaults setDefaults gives.
type Config struct {
	Batch        int           // log records per poll (and per transaction)
	PollInterval time.Duration // safety-net poll when no wake-up comes
	Wake         <-chan struct{}
	// Handoff, when set, takes the leads a batch decides straight to this
	// process's delivery worker while it has slots free (app.LeadHandoff).
	Handoff app.LeadHandoff
	// Transactions is the pool the projection's transactions run on
	// (OpenProjectionPool), whose commits do not wait for the WAL flush;
	// the leads a batch hands over then wait for it. Nil runs them on db.
	Transactions *sql.DB
}

func (c *Config) setDefaults() {
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
}

func (c Config) validate() error {
	var errs []error
	if c.Batch < 1 {
		errs = append(errs, fmt.Errorf("Batch %d is below 1", c.Batch))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("PollInterval %s is negative", c.PollInterval))
	}
	return errors.Join(errs...)
}

// NewProjectionRouter subscribes the projection to the log through a
// watermill router. The subscriber polls a batch of records in one
// transaction and hands them over one by one; the handler folds each into
// that transaction's unit of work (projectionBatch), which is written just
// before the subscriber commits it with the consumer offset: read models
// and offset commit together, exactly once.
// A record that cannot be applied, whatever the reason, is tried again a
// few times and then set aside in ctj_poison, in the same transaction
// (quarantine.go); a record the store cannot take now (it is
// unreachable) is tried until it can.
func NewRouter(db *sql.DB, project app.ProjectRecord, cfg Config, logger watermill.LoggerAdapter) (*message.Router, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("projection config: %w", err)
	}
	// A loop that keeps failing (the store down, a batch that cannot be
	// written) logs a line a second at most.
	logger = newRateLimitedLogger(logger, time.Second)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection router: %w", err)
	}
	txDB, onDisk := db, flushWaiter(nil)
	if cfg.Transactions != nil {
		txDB, onDisk = cfg.Transactions, walFlusher(db)
	}
	recovery := &batchRecovery{}
	beginner := guardedBeginner{Beginner: wsql.BeginnerFromStdSQL(txDB), db: db, stmts: pgdb.NewStatements(txDB),
		handoff: cfg.Handoff, onDisk: onDisk, recovery: recovery}
	sub, err := wsql.NewSubscriber(beginner, wsql.SubscriberConfig{
		ConsumerGroup: pgdb.ProjectionConsumerGroup,
		PollInterval:  cfg.PollInterval,
		// A batch whose transaction died (the database restarted) is given
		// up after this and polled afresh, instead of resent into a dead
		// transaction.
		AckDeadline:    pgdb.Ptr(10 * time.Second),
		ResendInterval: 100 * time.Millisecond,
		RetryInterval:  time.Second,
		BackoffManager: &wakeBackoff{wake: cfg.Wake, poll: cfg.PollInterval, retry: time.Second, recovery: recovery},
		SchemaAdapter:  pgdb.NewLogSchema(cfg.Batch),
		OffsetsAdapter: pgdb.OffsetsAdapter(),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("projection subscriber: %w", err)
	}
	quarantine, err := projectionrouter.QuarantineMiddlewares(poisonSetter{logger: logger}.setAside, pgdb.StoreTrouble)
	if err != nil {
		return nil, fmt.Errorf("projection router: %w", err)
	}
	router.AddMiddleware(append([]message.HandlerMiddleware{growStackFirst}, quarantine...)...)
	router.AddConsumerHandler("projection", pgdb.LogTopic, sub, func(msg *message.Message) error {
		return applyInBatch(msg, project)
	})
	return router, nil
}

// applyInBatch folds one record into the unit of work of the subscriber's
// transaction, written when the subscriber commits it with the offset. A
// failed try is undone alone, so a retry starts clean. In careful mode
// (after a batch failed to be written) the record is written at once, alone.
func applyInBatch(msg *message.Message, project app.ProjectRecord) error {
	ctx := msg.Context()
	g, ok := guardOf(ctx)
	if !ok {
		return errors.New("projection: no subscriber transaction in the message context")
	}
	rec, err := logRecord(msg)
	if err != nil {
		return &app.PermanentError{Err: err}
	}
	g.applying.Lock()
	defer g.applying.Unlock()
	if g.careful {
		return g.applyAlone(ctx, rec.Position, func() error { return project.Handle(ctx, rec) })
	}
	if !g.batch.warmed {
		// The first record of a poll: read the orders of the whole batch
		// ahead, in one round trip.
		if err := g.batch.warm(ctx); err != nil {
			return fmt.Errorf("read the batch's orders: %w", err)
		}
	}
	mark := g.batch.mark()
	defer func() {
		if r := recover(); r != nil {
			g.batch.rollback(mark) // nothing of a record that panics is written
			panic(r)
		}
	}()
	err = project.Handle(ctx, rec)
	if err == nil && ctx.Err() != nil {
		// The subscriber gave the record up meanwhile (ack deadline,
		// closing) and commits next without it.
		err = fmt.Errorf("record %d %w: %w", rec.Position, pgdb.ErrGivenUp, ctx.Err())
	}
	if err != nil {
		g.batch.rollback(mark)
	}
	return err
}

// guardedBeginner begins the subscriber's transactions as guardedTx.
type guardedBeginner struct {
	wsql.Beginner
	db       *sql.DB
	stmts    *pgdb.Statements
	handoff  app.LeadHandoff
	onDisk   flushWaiter // waits for the commit's flush; nil when the commit waited
	recovery *batchRecovery
}

func (b guardedBeginner) BeginTx(ctx context.Context, opts *sql.TxOptions) (wsql.Tx, error) {
	tx, err := b.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	std, ok := tx.(*wsql.StdSQLTx)
	if !ok {
		tx.Rollback()
		return nil, fmt.Errorf("projection: unexpected transaction type %T", tx)
	}
	q := pgdb.PreparedTx{Tx: std.Tx, Stmts: b.stmts}
	return &guardedTx{Tx: tx, db: b.db, q: q, batch: newProjectionBatch(q), handoff: b.handoff, onDisk: b.onDisk,
		recovery: b.recovery, careful: b.recovery.isCareful()}, nil
}

// guardedTx is a subscriber transaction with the projection's unit of
// work: Commit writes the batch, then commits it with the offset. Commit
// waits for the record being applied: the subscriber commits as soon as
// it stops waiting for a record (its ack deadline passed, or it is
// closing), possibly while the handler is halfway through; the handler
// then undoes its record before the commit goes ahead.
type guardedTx struct {
	wsql.Tx
	db       *sql.DB
	q        pgdb.PreparedTx
	batch    *projectionBatch
	handoff  app.LeadHandoff
	onDisk   flushWaiter
	ack      []any // the subscriber's offset update, written with the batch
	applying sync.Mutex
	recovery *batchRecovery
	// careful: each record is written alone as it is applied (applyAlone).
	careful bool
	// unclaimed: records written alone queued leads for the claim rounds.
	unclaimed bool
}

// Unwrap is the subscriber's transaction under the guard.
func (t *guardedTx) Unwrap() wsql.Tx { return t.Tx }

// The subscriber's only query is the poll. It is planned at every run,
// never prepared: a generic plan made while the log was small kept reading
// the whole log at a million events. The batch notes the orders of the rows
// it reads (pollRows). Its offset update runs prepared.

func (t *guardedTx) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	rows, err := t.q.Tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err // not a nil *sql.Rows in a non-nil interface
	}
	return pollRows{Rows: rows, batch: t.batch}, nil
}

// pollRows are the rows of a poll. The subscriber reads them all before it
// hands the first record over, and logSchema.UnmarshalMessage tells the
// batch each record's payload as it reads it, so the batch knows every
// order of the poll before it folds the first record.
type pollRows struct {
	*sql.Rows
	batch *projectionBatch
}

func (r pollRows) Polled(payload []byte) { r.batch.polled(payload) }

// The subscriber tells pollRows of each record only if it is a
// pgdb.PollReader; without it every record would read its order alone.
var _ pgdb.PollReader = pollRows{}

// ExecContext runs the subscriber's statements, but for its offset update
// (ackQuery), which it runs last before it commits: that one waits for
// the commit and goes with the batch's own writes, in one round trip
// (flushStatement). A query watermill-sql may word otherwise one day just
// runs.
func (t *guardedTx) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	if query == ackQuery && len(args) == 3 {
		t.ack = args
		return deferredAck{}, nil
	}
	return t.q.ExecContext(ctx, query, args...)
}

// ackQuery is the subscriber's offset update, as watermill-sql words it.
var ackQuery = func() string {
	q, err := pgdb.OffsetsAdapter().AckMessageQuery(wsql.AckMessageQueryParams{Topic: pgdb.LogTopic})
	if err != nil {
		return "" // then no query is taken for it: each runs as it comes
	}
	return q.Query
}()

// deferredAck is the result of an offset update put off until the commit;
// the subscriber only logs it.
type deferredAck struct{}

func (deferredAck) RowsAffected() (int64, error) { return 1, nil }

func (t *guardedTx) Commit() error {
	t.applying.Lock()
	defer t.applying.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queued, err := t.batch.flush(ctx, t.handoff, t.ack)
	if err != nil {
		// Nothing of the batch is kept, the offset included: its records
		// are polled again, carefully.
		queued.abandoned()
		t.recovery.failed(err)
		return errors.Join(err, t.Tx.Rollback())
	}
	if err := t.Tx.Commit(); err != nil {
		queued.abandoned()
		t.recovery.failed(err)
		return err
	}
	if t.ack != nil {
		t.recovery.committed()
	}
	queued.committed(t.onDisk)
	if queued.unclaimed || t.unclaimed {
		pgdb.NotifierOf(t.db).Poke(pgdb.ChannelDeliveries)
	}
	return nil
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
	pos, err := strconv.ParseInt(msg.Metadata.Get(pgdb.MetaPosition), 10, 64)
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no log position: %w", msg.UUID, err)
	}
	at, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(pgdb.MetaRecordedAt))
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no recorded time: %w", msg.UUID, err)
	}
	tx, err := strconv.ParseUint(msg.Metadata.Get(pgdb.MetaTransactionID), 10, 64)
	if err != nil {
		return app.LogRecord{}, fmt.Errorf("message %s: no transaction id: %w", msg.UUID, err)
	}
	return app.LogRecord{Position: pos, TransactionID: tx, RecordedAt: at, Payload: msg.Payload}, nil
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
//
// After a batch that could not be written it pauses before polling it
// again (batchRecovery).
type wakeBackoff struct {
	wake        <-chan struct{}
	poll, retry time.Duration
	eager       time.Duration // next quick re-poll after a wake-up; 0 when none
	recovery    *batchRecovery
}

const firstEagerPoll = 5 * time.Millisecond

func (b *wakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if err != nil {
		logger.Info("log poll failed; retrying", watermill.LogFields{"err": err.Error()})
		return b.retry
	}
	if !noMsg {
		b.eager = 0
		return b.recovery.pauseBeforePoll()
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
