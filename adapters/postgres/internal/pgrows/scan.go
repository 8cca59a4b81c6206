package pgrows

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"ctjournal/domain"
	"ctjournal/wire"
)

// decisionColumns are what scanDecisionRow reads, for queries that load
// many orders' decisions at once.
const DecisionColumns = `order_id, attempt, decision, COALESCE(key, ''), reason, warnings, COALESCE(policy_version, 0),
	payload, decided_at, decided_by, status, tries, delivered_at`

// eventColumns are what scanEventRow reads of an events table aliased e,
// each event's fact taken from log.
func EventColumns(log string) string {
	return `e.order_id, e.position, e.recorded_at, COALESCE(e.note, ''), ` + FactOf(log)
}

// factOf is the fact of the event row e: the payload of the log record it
// points at, found by the record's key (an index probe whatever the
// table's statistics).
func FactOf(log string) string {
	return `(SELECT l.payload FROM ` + log + ` l WHERE l.transaction_id = e.transaction_id AND l."offset" = e.position)`
}

// scanEventRow reads one row of eventColumns as loadEvents does.
func ScanEventRow(rows *sql.Rows) (string, domain.LoggedEvent, error) {
	var (
		orderID string
		e       domain.LoggedEvent
		fact    []byte
	)
	if err := rows.Scan(&orderID, &e.Position, &e.RecordedAt, &e.Note, &fact); err != nil {
		return "", e, fmt.Errorf("scan event: %w", err)
	}
	var err error
	if e.CallEvent, err = wire.UnmarshalEvent(fact); err != nil {
		return "", e, fmt.Errorf("decode event %d: %w", e.Position, err)
	}
	e.RecordedAt = e.RecordedAt.UTC()
	return orderID, e, nil
}

// scanDecisionRow reads one row of decisionColumns as loadDecisions does,
// with the lead's delivery state.
func ScanDecisionRow(rows *sql.Rows) (string, domain.Decision, LeadState, error) {
	var (
		orderID           string
		l                 LeadState
		d                 domain.Decision
		warnings, payload []byte
		deliveredAt       sql.NullTime
	)
	if err := rows.Scan(&orderID, &d.Attempt, &d.Verdict, &d.Key, &d.Reason, &warnings, &d.PolicyVersion, &payload,
		&d.DecidedAt, &d.DecidedBy, &l.Status, &l.Tries, &deliveredAt); err != nil {
		return "", d, l, fmt.Errorf("scan decision: %w", err)
	}
	if deliveredAt.Valid {
		t := deliveredAt.Time.UTC()
		l.DeliveredAt = &t
	}
	d.DecidedAt = d.DecidedAt.UTC()
	if err := json.Unmarshal(warnings, &d.Warnings); err != nil {
		return "", d, l, fmt.Errorf("decode warnings of order %s: %w", orderID, err)
	}
	if len(d.Warnings) == 0 {
		d.Warnings = nil
	}
	if payload != nil {
		d.Payload = &domain.Payload{}
		if err := json.Unmarshal(payload, d.Payload); err != nil {
			return "", d, l, fmt.Errorf("decode payload of order %s: %w", orderID, err)
		}
	}
	return orderID, d, l, nil
}

func SortDecisions(ds []domain.Decision) {
	slices.SortFunc(ds, func(a, b domain.Decision) int { return a.Attempt - b.Attempt })
}
