package app

// Every port the use cases and the delivery worker speak to is declared
// here, with the values it carries; Ports (application.go) lists them.

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

// LeadHandoff is the delivery worker's side door (app/delivery), called
// by the projection's store: it queues leads already claimed for this
// process's worker and hands them over once that claim commits, so a lead
// is tried at once rather than at the worker's next claim round. A lead
// whose hand-over never comes (the process died) is claimed again by a
// round when its lease lapses, as after any crashed try.
type LeadHandoff interface {
	// Reserve takes up to n of the worker's free try slots and returns the
	// claim to queue that many leads under: Slots is 0 while the worker is
	// stopping, not running or has no slot free.
	Reserve(n int) HandoffClaim
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
	Slots      int // try slots reserved: at most this many leads are queued under the claim
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
// could not apply it (docs/api.md, Quarantine).
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

// CalltouchRequest is one "register request" call: where to, with which
// credentials, and the exact form body the lead's payload encodes to.
type CalltouchRequest struct {
	BaseURL string // scheme://host[:port], no trailing slash
	SiteID  string
	Token   string // goes in the Access-Token header only; never logged
	Body    string // form-encoded payload, sent byte for byte
}

// CalltouchAnswer is what one try got back. Status is 0 when no HTTP answer
// arrived (network error, timeout); Err then says why.
type CalltouchAnswer struct {
	Status     int
	Response   string        // first 1 KiB of the response body
	RequestID  string        // Calltouch's requestId from a JSON body, when present
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Duration   time.Duration
	Err        string
}

// Calltouch sends one lead to a customer's Calltouch request journal.
type Calltouch interface {
	Register(ctx context.Context, req CalltouchRequest) CalltouchAnswer
}

// SiteLimiter spaces the requests to one Calltouch site.
type SiteLimiter interface {
	Wait(ctx context.Context, siteID string) error
}

// WidgetSummaries answers widget summaries from the read models.
type WidgetSummaries interface {
	// WidgetSummary returns ErrNotFound for a widget with no order at all.
	WidgetSummary(ctx context.Context, f WidgetFilter) (WidgetSummary, error)
}

// PolicyVersions reads the policy versions the projection has seen.
type PolicyVersions interface {
	// PolicyVersions lists every version of the widget's policy, newest
	// first; none for a widget that never had one.
	PolicyVersions(ctx context.Context, widgetID string) ([]PolicyVersion, error)
}

// LeadsPerDay counts decisions per UTC day of decided_at.
type LeadsPerDay interface {
	// LeadsPerDay returns the days with at least one decision in the
	// filter's range, in order, each with the statuses it has.
	LeadsPerDay(ctx context.Context, f WidgetFilter) ([]DayCount, error)
}

// History reads past orders for a simulation; it never writes.
type History interface {
	// WidgetHistory calls each with the filter's orders, one at a time.
	WidgetHistory(ctx context.Context, f HistoryFilter, each func(HistoryOrder) error) error
}

// RebuildStore builds a private copy of the read models from the log and
// swaps it in for the live ones.
type RebuildStore interface {
	// StartRebuild creates empty copies of the read models and fixes what
	// the bulk phase replays: the log up to where the live projection
	// stands now.
	StartRebuild(ctx context.Context) (RebuildRun, error)
}

// RebuildRun is one rebuild under way.
type RebuildRun interface {
	// Total is how many log records the bulk phase replays.
	Total() int64
	// Models is the copy the bulk phase folds records into.
	Models() ReadModel
	// NextPage returns the bulk phase's next records in log order; none
	// once it is done.
	NextPage(ctx context.Context) ([]LogRecord, error)
	// Seal writes what the copy still holds in memory and readies it for
	// record-by-record folding (keys, indexes, lead statuses).
	Seal(ctx context.Context) error
	// SwapIn folds, each through apply and into the copy, the records the
	// live projection folded since the bulk phase's end, and never one it
	// has not: those are still the projection's to fold and queue. Then it
	// swaps the copy in for the live models, the last records and the swap
	// in one transaction that holds the projection still. It returns how
	// many records it folded.
	SwapIn(ctx context.Context, apply func(ctx context.Context, models ReadModel, rec LogRecord) error) (int64, error)
	// Discard drops the copy; the live models stay as they were.
	Discard(ctx context.Context) error
	// SetAside counts the records skipped so far because the live
	// projection set them aside (and those SwapIn could not fold either).
	SetAside() int64
}

// RebuildProgress hears how a rebuild advances: a progress bar on a
// terminal, plain lines otherwise.
type RebuildProgress interface {
	Started(total int64)
	Advanced(n int)
	Stage(what string)
}

// CopiedRecord is one log record as a copy carries it from store to
// store: its position, id, time, payload and Watermill metadata unchanged.
type CopiedRecord struct {
	Position   int64
	UUID       string
	RecordedAt time.Time
	Payload    []byte
	Metadata   []byte // JSON; nil when the record has none
}

// OrderWidget ties an order to its widget, as the write side keeps it.
type OrderWidget struct {
	OrderID  string
	WidgetID string
}

// StoreSource is a store read whole for a copy (copy-store).
type StoreSource interface {
	// Export opens one consistent snapshot of the store; it changes nothing.
	Export(ctx context.Context) (StoreExport, error)
}

// StoreExport is a snapshot of a store being read for a copy.
type StoreExport interface {
	// LogSize is how many records the log holds.
	LogSize() int64
	// NextLogPage returns the log's next records in log order; none at
	// the end.
	NextLogPage(ctx context.Context) ([]CopiedRecord, error)
	// Policies are each widget's latest policy, token included.
	Policies(ctx context.Context) ([]StoredPolicy, error)
	// OrderWidgetsAfter is the next page of order→widget ties, in order id
	// order, after the order id given ("" for the first); empty at the end.
	OrderWidgetsAfter(ctx context.Context, after string) ([]OrderWidget, error)
	// Quarantined are the records the projection set aside.
	Quarantined(ctx context.Context) ([]QuarantinedRecord, error)
	Close() error
}

// StoreTarget is an empty store a copy writes into (copy-store).
type StoreTarget interface {
	// StartImport checks that the store's log is empty (*StateError when
	// not) and readies it for the copy.
	StartImport(ctx context.Context) (StoreImport, error)
}

// StoreImport writes a copy into the target store.
type StoreImport interface {
	// WriteLog appends records in the order given, each at its position.
	WriteLog(ctx context.Context, recs []CopiedRecord) error
	WritePolicies(ctx context.Context, policies []StoredPolicy) error
	WriteOrderWidgets(ctx context.Context, ties []OrderWidget) error
	// SetAside quarantines the copied records at the given positions.
	SetAside(ctx context.Context, recs []QuarantinedRecord) error
	// SealLog puts the projection's offset at the log's end: a rebuild
	// replays the whole log, and serve folds only what comes after it.
	SealLog(ctx context.Context) error
	// QueueLeads fills the delivery queue from the rebuilt read models:
	// every lead decided "send", with the status, tries and give-up
	// deadline its history in the log gives it. Pending leads are due at
	// now. It returns how many leads it queued, by status.
	QueueLeads(ctx context.Context, giveUpAfter time.Duration, now time.Time) (map[string]int64, error)
	// Abort empties what the copy wrote, so that the store can take
	// another copy.
	Abort(ctx context.Context) error
}
