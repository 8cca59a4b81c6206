package sqlite

import (
	"encoding/json"

	"ctjournal/domain"
)

// The rows the bulk model writes, value for value as the live projection
// writes them (ReadModel.writeChange, writeDecision, leadEvent), so that
// the copies equal the tables the projection builds.

// addEvent writes the event's row.
func (m *bulkModel) addEvent(s domain.OrderState, e domain.LoggedEvent) error {
	var attempt, note any
	if e.Attempt > 0 {
		attempt = int64(e.Attempt)
	}
	if e.Note != "" {
		note = e.Note
	}
	return m.w.add(tableEvents, e.Position, e.Position, e.EventID, s.OrderID, s.WidgetID, string(e.Type), attempt,
		ts(e.OccurredAt), ts(e.RecordedAt), note)
}

// addTry writes one entry of a lead's delivery history.
func (m *bulkModel) addTry(e leadEvent) error {
	var httpStatus, errText any
	if e.httpStatus != 0 {
		httpStatus = int64(e.httpStatus)
	}
	if e.errText != "" {
		errText = e.errText
	}
	return m.w.add(tableTries, e.position, e.position, string(e.key), int64(e.try), ts(e.at), e.durationMS, httpStatus,
		e.response, errText, e.outcome)
}

// writeOrder writes the order's row and decisions as they stand.
func (m *bulkModel) writeOrder(o *cachedOrder) error {
	s := o.State
	var version, kind, hasSession, ordered, scheduled any
	if s.Placement != nil {
		version = int64(s.Placement.Version)
	}
	if f := orderedFact(s); f != nil {
		kind, hasSession, ordered, scheduled = string(f.Order.Kind), f.Order.SessionID != "", ts(f.OccurredAt), tsOrNil(f.Order.ScheduledAt)
	}
	if err := m.w.add(tableOrders, s.OrderID, s.WidgetID, version, s.Placement != nil, kind, hasSession, ordered, scheduled,
		o.First, o.Last); err != nil {
		return err
	}
	for _, d := range s.Decisions {
		if err := m.writeDecision(s, d, o.Leads[d.Attempt]); err != nil {
			return err
		}
	}
	return nil
}

// writeDecision writes a decision with its lead's state (l, nil when
// never moved).
func (m *bulkModel) writeDecision(s domain.OrderState, d domain.Decision, l *leadState) error {
	w := []byte("[]")
	if len(d.Warnings) > 0 {
		var err error
		if w, err = json.Marshal(d.Warnings); err != nil {
			return err
		}
	}
	var key, version, payload, deliveredAt any
	if d.Key != "" {
		key = string(d.Key)
	}
	if d.PolicyVersion > 0 {
		version = int64(d.PolicyVersion)
	}
	if d.Payload != nil {
		p, err := json.Marshal(d.Payload)
		if err != nil {
			return err
		}
		payload = string(p)
	}
	status, tries := statusOf[d.Verdict], int64(0)
	if l != nil {
		status, tries, deliveredAt = l.status, int64(l.tries), tsOrNil(l.deliveredAt)
	}
	return m.w.add(tableDecisions, s.OrderID, s.WidgetID, int64(d.Attempt), string(d.Verdict), key, d.Reason, string(w), version,
		payload, ts(d.DecidedAt), d.DecidedBy, status, tries, deliveredAt)
}
