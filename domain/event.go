package domain

import "time"

// EventType names what happened to an order's call.
type EventType string

const (
	CallOrdered     EventType = "call.ordered"
	CallDialed      EventType = "call.dialed"
	CallAnswered    EventType = "call.answered"
	CallFailed      EventType = "call.failed"
	CallLastAttempt EventType = "call.last_attempt"
)

// OrderKind tells a callback order (the client's phone is known) from a
// tap-to-call one (only the manager's phone is).
type OrderKind string

const (
	KindCallback OrderKind = "callback"
	KindTap2Call OrderKind = "tap2call"
)

// An attempt is numbered from 1 to MaxAttempt, and a call.answered reports
// at most MaxTalkSeconds of talk, a day (docs/api.md).
const (
	MaxAttempt     = 100
	MaxTalkSeconds = 86400
)

// CallEvent is one validated fact about an order, as the telephony core
// reported it. Build it with wire.ParseEvent or wire.ParseBatch, or read it
// back from a store; the zero value is not a valid event.
type CallEvent struct {
	EventID    string    // canonical lower-case UUID, the idempotency key
	Type       EventType //
	OrderID    string    //
	WidgetID   string    //
	OccurredAt time.Time // always UTC once parsed

	// Attempt is the attempt number (1–100) of dialed/answered/failed/
	// last_attempt events; 0 for call.ordered.
	Attempt int

	Order       *OrderData // call.ordered only
	TalkSeconds *int       // call.answered, when known
	FailReason  string     // call.failed, when given
}

// OrderData is what call.ordered tells about the order.
type OrderData struct {
	Kind         OrderKind
	ClientPhone  string // digits, country code first ("79161234567")
	ManagerPhone string // digits, country code first
	SessionID    string // Calltouch session id; empty when not collected
	FormName     string
	ScheduledAt  *time.Time // set when the call is deferred; UTC
	Details      map[string]string
}

// Deferred reports whether the order's call is scheduled for later.
func (o *OrderData) Deferred() bool { return o != nil && o.ScheduledAt != nil }

// Phone is the number a lead carries: the manager's for tap-to-call, the
// client's otherwise.
func (o *OrderData) Phone() string {
	if o.Kind == KindTap2Call {
		return o.ManagerPhone
	}
	return o.ClientPhone
}
