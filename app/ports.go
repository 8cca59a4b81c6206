package app

import (
	"context"
	"time"

	"ctjournal/domain"
)

// NewEvent is a parsed call event with its canonical bytes, ready for the log.
type NewEvent struct {
	Event     domain.CallEvent
	Canonical []byte
	Index     int // position in the request's batch, for error reports
}

// AppendResult counts what an append stored and what it recognised as known.
type AppendResult struct {
	Accepted   int
	Duplicates int
}

// EventLog is the append-only, totally ordered log of call events.
type EventLog interface {
	// Append stores, in one transaction, every event not yet in the log.
	// An event_id stored with other content, or an order stored under
	// another widget, fails the whole append with a *ConflictError naming
	// the event's index.
	Append(ctx context.Context, events []NewEvent) (AppendResult, error)
}

// StoredPolicy is a widget's policy as the write side keeps it (token included).
type StoredPolicy struct {
	WidgetID  string
	Version   int
	Policy    domain.Policy
	UpdatedAt time.Time
}

// PolicyStore keeps each widget's latest policy and logs every change.
type PolicyStore interface {
	// UpdatePolicy runs update on the widget's current policy (nil when it
	// never had one) under a lock, stores the result as the next version and
	// appends the change to the log, all in one transaction. update may
	// return ErrNotFound to refuse.
	UpdatePolicy(ctx context.Context, widgetID string, update func(current *StoredPolicy) (domain.Policy, error)) (StoredPolicy, error)
	// Policy returns the widget's latest policy, or ErrNotFound.
	Policy(ctx context.Context, widgetID string) (StoredPolicy, error)
}

// OrderChange is what one folded event changed about an order.
type OrderChange struct {
	State domain.OrderState // the state after the fold
	Event domain.LoggedEvent
	// TransactionID is that of the event's log record, which holds its
	// fact: the events read model points at the record, not a copy of it.
	TransactionID uint64
	Step          domain.Step
}

// ReadModel is the projection's store: policies in force, orders, their
// events and decisions, delivery tries. Every method runs inside the
// projection's transaction carried by ctx.
type ReadModel interface {
	RecordPolicy(ctx context.Context, change PolicyChanged, position int64, recordedAt time.Time) error
	PolicyInForce(ctx context.Context, widgetID string) (domain.Placement, error)
	// UpdateOrder loads the order's state (empty when unknown), lets fold
	// advance it and stores what changed. fold returning nil stores nothing.
	UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*OrderChange, error)) error
	RecordTry(ctx context.Context, try DeliveryTried, position int64) error
	RecordGiveUp(ctx context.Context, g LeadGivenUp, position int64) error
	RecordRedelivery(ctx context.Context, r RedeliveryRequested, position int64) error
}

// Lead is a send decision queued for delivery.
type Lead struct {
	Key       domain.LeadKey
	OrderID   string
	WidgetID  string
	Payload   domain.Payload
	DecidedAt time.Time
}

// Outbox queues leads decided "send" for the delivery worker; a key is
// queued at most once.
type Outbox interface {
	Enqueue(ctx context.Context, lead Lead) error
}

// LeadHandoff lets the projection queue leads already claimed for this
// process's delivery worker and hand them over once that claim commits,
// so a lead is tried at once rather than at the worker's next claim
// round. A lead whose hand-over never comes (the process died) is claimed
// again by a round when its lease lapses, as after any crashed try.
type LeadHandoff interface {
	// Reserve takes up to n of the worker's free try slots. It returns how
	// many it took and the claim to queue that many leads under; none
	// while the worker is stopping, not running or has no slot free.
	Reserve(n int) (HandoffClaim, int)
	// HandOver starts a try of each lead queued under claim in a committed
	// transaction, and frees the reserved slots it does not use: HandOver
	// with no leads gives them all back.
	HandOver(claim HandoffClaim, leads []ClaimedLead)
}

// HandoffClaim is the claim a lead is queued under for a hand-over.
type HandoffClaim struct {
	Owner      string
	Now        time.Time // the claim's start: a lead due later, or past its deadline, is not handed over
	LeaseUntil time.Time
	slots      int
	stop       context.Context // the worker's run
}

// ClaimedLead is a queued lead a worker holds for one try.
type ClaimedLead struct {
	Lead
	Tries      int // tries made before this one
	DeadlineAt time.Time
}

// DeliveryQueue is the delivery worker's view of the outbox.
type DeliveryQueue interface {
	// Claim takes up to limit pending leads that are due, for owner, until
	// leaseUntil; a lead claimed by a live owner is never handed out twice.
	Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]ClaimedLead, error)
	// RecordTry appends the try to the log and moves the lead on: delivered,
	// failed, or pending again at nextAttempt; the claim is released.
	RecordTry(ctx context.Context, owner string, try DeliveryTried, nextAttempt time.Time) error
	// Release hands a claimed lead back untried.
	Release(ctx context.Context, owner string, key domain.LeadKey) error
	// GiveUpExpired fails every unclaimed pending lead past its deadline and
	// logs each; it returns how many.
	GiveUpExpired(ctx context.Context, now time.Time) (int, error)
	// Redeliver puts a failed lead back in the queue with a new deadline and
	// logs the request. ErrNotFound for an unknown key; *StateError when
	// the lead is delivered or still pending.
	Redeliver(ctx context.Context, key domain.LeadKey, now, deadline time.Time) error
}

// Queries answer the audit and the lead listing from the read models.
type Queries interface {
	Explain(ctx context.Context, orderID string) (OrderExplanation, error)
	Leads(ctx context.Context, f LeadFilter) (LeadPage, error)
}

// QuarantinedRecord is a log record the projection set aside because it
// could not apply it (contract.md, Quarantine).
type QuarantinedRecord struct {
	Position   int64
	OrderID    string // the order the record names; empty when none can be read
	Error      string // why it was set aside, on its last try
	At         time.Time
	RecordedAt time.Time // when the log recorded it
	Payload    []byte
}

// ReapplyOutcome is what a quarantined record did when applied again.
type ReapplyOutcome struct {
	Position int64
	Applied  bool
	Error    string // why it stays aside, when not applied
}

// Quarantine keeps the log records the projection set aside.
type Quarantine interface {
	// Quarantined lists the records set aside in log order: every one, or
	// those naming orderID when it is not empty.
	Quarantined(ctx context.Context, orderID string) ([]QuarantinedRecord, error)
	// Count is how many records are set aside.
	Count(ctx context.Context) (int64, error)
	// Reapply applies the records set aside at positions (every one when
	// positions is empty) again through apply, in log order, with the
	// projection held still meanwhile. One applied leaves the quarantine;
	// one that fails stays aside with its new error. A position that is
	// not set aside is an error and nothing is applied.
	Reapply(ctx context.Context, positions []int64, apply func(ctx context.Context, rec LogRecord) error) ([]ReapplyOutcome, error)
}

// StatusReader reports the engine's state for operators (GET /v1/status).
type StatusReader interface {
	Status(ctx context.Context) (EngineStatus, error)
}
