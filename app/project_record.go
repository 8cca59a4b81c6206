package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"ctjournal/domain"
	"ctjournal/wire"
)

// LogRecord is one entry of the log as the projection reads it.
type LogRecord struct {
	Position int64
	// TransactionID is the transaction that appended the record: with
	// Position, the record's key in the log.
	TransactionID uint64
	RecordedAt    time.Time
	Payload       []byte
}

// PermanentError marks a record the projection can never apply (it is
// malformed); retrying will not help.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// ProjectRecord folds one log record into the read models, in log order.
// Call events are folded per order under the policy the order was placed
// under; new "send" decisions are queued in the outbox in the same
// transaction. Applying the same record twice changes nothing.
type ProjectRecord struct {
	models ReadModel
	outbox Outbox
}

// NewProjectRecord builds the projection. A rebuild passes an outbox that
// queues nothing, so that it never sends.
func NewProjectRecord(models ReadModel, outbox Outbox) ProjectRecord {
	return ProjectRecord{models: models, outbox: outbox}
}

// Handle applies rec. ctx carries the transaction the caller commits.
func (h ProjectRecord) Handle(ctx context.Context, rec LogRecord) error {
	// Call events are most of the log: decoded once, as what they are.
	e, callErr := wire.UnmarshalEvent(rec.Payload)
	if callErr == nil && strings.HasPrefix(string(e.Type), "call.") {
		if !knownCallType(e.Type) {
			// Written by a newer version, or damaged: the rules know no such fact.
			return &PermanentError{fmt.Errorf("record %d: unknown event type %q", rec.Position, e.Type)}
		}
		return h.callEvent(ctx, rec, e)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(rec.Payload, &head); err != nil {
		if p := bytes.TrimSpace(rec.Payload); len(p) == 0 || p[0] != '{' {
			return &PermanentError{fmt.Errorf("record %d: not a JSON object", rec.Position)}
		}
		return &PermanentError{fmt.Errorf("record %d: field type: must be a string", rec.Position)}
	}
	typ := head.Type
	switch {
	case strings.HasPrefix(typ, "call."):
		return &PermanentError{fmt.Errorf("record %d: %w", rec.Position, callErr)}
	case typ == TypePolicyChanged:
		var c PolicyChanged
		if err := decode(rec, &c); err != nil {
			return err
		}
		return h.models.RecordPolicy(ctx, c, rec.Position, rec.RecordedAt)
	case typ == TypeDeliveryTried:
		var t DeliveryTried
		if err := decode(rec, &t); err != nil {
			return err
		}
		return h.models.RecordTry(ctx, t, rec.Position)
	case typ == TypeLeadGivenUp:
		var g LeadGivenUp
		if err := decode(rec, &g); err != nil {
			return err
		}
		return h.models.RecordGiveUp(ctx, g, rec.Position)
	case typ == TypeRedeliveryRequested:
		var r RedeliveryRequested
		if err := decode(rec, &r); err != nil {
			return err
		}
		return h.models.RecordRedelivery(ctx, r, rec.Position)
	default:
		return &PermanentError{fmt.Errorf("record %d: unknown type %q", rec.Position, typ)}
	}
}

func knownCallType(t domain.EventType) bool {
	switch t {
	case domain.CallOrdered, domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt:
		return true
	}
	return false
}

func decode(rec LogRecord, v any) error {
	if err := json.Unmarshal(rec.Payload, v); err != nil {
		return &PermanentError{fmt.Errorf("record %d: %w", rec.Position, err)}
	}
	return nil
}

func (h ProjectRecord) callEvent(ctx context.Context, rec LogRecord, e domain.CallEvent) error {
	f := &callFold{change: OrderChange{
		Event:         domain.LoggedEvent{CallEvent: e, Position: rec.Position, RecordedAt: rec.RecordedAt},
		TransactionID: rec.TransactionID,
	}}
	if e.Type == domain.CallOrdered {
		var err error
		if f.inForce, err = h.models.PolicyInForce(ctx, e.WidgetID); err != nil {
			return fmt.Errorf("policy in force for widget %s: %w", e.WidgetID, err)
		}
	}
	if err := h.models.UpdateOrder(ctx, e.OrderID, f.fold); err != nil {
		return fmt.Errorf("fold %s into order %s: %w", e.EventID, e.OrderID, err)
	}
	if !f.folded {
		return nil
	}
	state := &f.change.State
	for _, d := range f.change.Step.Changed {
		if d.Verdict != domain.Send {
			continue
		}
		lead := Lead{Key: d.Key, OrderID: state.OrderID, WidgetID: state.WidgetID, Payload: *d.Payload, DecidedAt: d.DecidedAt}
		if err := h.outbox.Enqueue(ctx, lead); err != nil {
			return fmt.Errorf("queue lead %s: %w", d.Key, err)
		}
	}
	return nil
}

// callFold folds one call event into its order: one value per record holds
// what the fold needs and the change it hands the read model.
type callFold struct {
	inForce domain.Placement // the widget's policy in force, for a call.ordered
	change  OrderChange
	folded  bool // the read model stored change
}

func (f *callFold) fold(s domain.OrderState) (*OrderChange, error) {
	next, step := s.Fold(f.change.Event, f.inForce)
	f.folded = len(next.Events) != len(s.Events)
	if !f.folded {
		return nil, nil // already folded: a redelivered record
	}
	f.change.Event.Note = step.Note
	f.change.State, f.change.Step = next, step
	return &f.change, nil
}
