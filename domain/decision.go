package domain

import "time"

// Verdict is what a decision says about a deciding fact.
type Verdict string

const (
	Send Verdict = "send"
	Skip Verdict = "skip"
	Wait Verdict = "wait"
)

// LeadKey identifies one lead; it is also the requestNumber sent to Calltouch.
type LeadKey string

// WarningNoSession is carried by a lead sent without a Calltouch session id.
const WarningNoSession = "no Calltouch session id: the traffic source will be unknown"

// Decision is the verdict on one deciding fact of an order: the order itself
// (Attempt 0, before_call on a deferred order) or one finished attempt.
type Decision struct {
	Attempt       int // 0: decided at order time
	Verdict       Verdict
	Key           LeadKey  // Send only
	Reason        string   // human-readable, shown by the audit
	Warnings      []string // e.g. WarningNoSession
	PolicyVersion int      // version the order was placed under; 0 when none
	Payload       *Payload // Send only; built once, sent as is on every try
	DecidedAt     time.Time
	DecidedBy     string // event_id of the fact whose arrival settled it
}

// Final reports whether the decision can no longer change.
func (d Decision) Final() bool { return d.Verdict != Wait }
