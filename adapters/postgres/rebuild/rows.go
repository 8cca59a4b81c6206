package rebuild

import (
	"encoding/json"
	"time"

	"ctjournal/adapters/postgres/internal/pgrows"
	"ctjournal/domain"
)

// Bulk writer targets, in the order newBulkModel gives them.
const (
	targetPolicies = iota
	targetOrders
	targetEvents
	targetDecisions
	targetTries
)

// bulkTargets are the copies the bulk writer fills, each with the columns
// its rows give, in order.
func bulkTargets(schema string) []copyTarget {
	return []copyTarget{
		targetPolicies:  {qualified(schema, "ctj_policy_versions"), []string{"widget_id", "version", "policy", "token_masked", "position", "recorded_at"}},
		targetOrders:    {qualified(schema, "ctj_orders"), []string{"order_id", "widget_id", "policy_version", "placed", "kind", "has_session_id", "ordered_at", "scheduled_at", "first_position", "last_position"}},
		targetEvents:    {qualified(schema, "ctj_order_events"), []string{"seq", "position", "event_id", "order_id", "widget_id", "type", "attempt", "occurred_at", "recorded_at", "note", "transaction_id"}},
		targetDecisions: {qualified(schema, "ctj_decisions"), []string{"order_id", "widget_id", "attempt", "decision", "key", "reason", "warnings", "policy_version", "payload", "decided_at", "decided_by", "status", "tries", "delivered_at"}},
		targetTries:     {qualified(schema, "ctj_delivery_tries"), []string{"seq", "position", "key", "try", "at", "duration_ms", "http_status", "response", "error", "outcome"}},
	}
}

// addEvent writes the event's row as storeChange does.
func (m *bulkModel) addEvent(e domain.LoggedEvent, transactionID uint64) error {
	m.eventSeq++
	m.w.row(targetEvents).int(m.eventSeq).int(e.Position).text(e.EventID).text(e.OrderID).text(e.WidgetID).text(string(e.Type)).
		intOrNull(e.Attempt).time(e.OccurredAt).time(e.RecordedAt).textOrNull(e.Note).uint(transactionID)
	return m.w.endRow(targetEvents)
}

// addTry writes a row as leadEvent does: no HTTP status is NULL, and so is
// an empty error.
func (m *bulkModel) addTry(position int64, key domain.LeadKey, try int, at time.Time, durationMS int64, httpStatus int, response, errText, outcome string) error {
	m.trySeq++
	m.w.row(targetTries).int(m.trySeq).int(position).text(string(key)).int(int64(try)).time(at).int(durationMS).
		intOrNull(httpStatus).text(response).textOrNull(errText).text(outcome)
	return m.w.endRow(targetTries)
}

// writeOrder queues the order's row and decisions as storeChange leaves
// them in the live tables.
func (m *bulkModel) writeOrder(o *cachedOrder) error {
	s := o.State
	r := m.w.row(targetOrders).text(s.OrderID).text(s.WidgetID)
	if s.Placement != nil {
		r.int(int64(s.Placement.Version))
	} else {
		r.null()
	}
	r.bool(s.Placement != nil)
	if f := pgrows.OrderedFact(s); f != nil {
		r.text(string(f.Order.Kind)).bool(f.Order.SessionID != "").time(f.OccurredAt)
		if f.Order.ScheduledAt != nil {
			r.time(*f.Order.ScheduledAt)
		} else {
			r.null()
		}
	} else {
		r.null().null().null().null()
	}
	r.int(o.First).int(o.Last)
	if err := m.w.endRow(targetOrders); err != nil {
		return err
	}
	for _, d := range s.Decisions {
		if err := m.writeDecision(s, d, o.Leads[d.Attempt]); err != nil {
			return err
		}
	}
	return nil
}

// writeDecision writes a decision as storeDecision does: no key, payload
// or policy version is NULL; warnings are a JSON array, empty when none.
func (m *bulkModel) writeDecision(s domain.OrderState, d domain.Decision, l *pgrows.LeadState) error {
	warnings := d.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	wj, err := json.Marshal(warnings)
	if err != nil {
		return err
	}
	r := m.w.row(targetDecisions).text(s.OrderID).text(s.WidgetID).int(int64(d.Attempt)).text(string(d.Verdict)).
		textOrNull(string(d.Key)).text(d.Reason).bytes(wj).intOrNull(d.PolicyVersion)
	if d.Payload != nil {
		b, err := d.Payload.MarshalJSON()
		if err != nil {
			return err
		}
		r.bytes(b)
	} else {
		r.null()
	}
	r.time(d.DecidedAt).text(d.DecidedBy)
	switch {
	case l == nil:
		r.text(pgrows.StatusOf[d.Verdict]).int(0).null()
	case l.DeliveredAt != nil:
		r.text(l.Status).int(int64(l.Tries)).time(*l.DeliveredAt)
	default:
		r.text(l.Status).int(int64(l.Tries)).null()
	}
	return m.w.endRow(targetDecisions)
}
