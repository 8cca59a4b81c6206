package postgres

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
const decisionColumns = `order_id, attempt, decision, COALESCE(key, ''), reason, warnings, COALESCE(policy_version, 0),
	payload, decided_at, decided_by, status, tries, delivered_at`

// eventColumns are what scanEventRow reads of an events table aliased e,
// each event's fact taken from log.
func eventColumns(log string) string {
	return `e.order_id, e.position, e.recorded_at, COALESCE(e.note, ''), ` + factOf(log)
}

// factOf is the fact of the event row e: the payload of the log record it
// points at, found by the record's key (an index probe whatever the
// table's statistics).
func factOf(log string) string {
	return `(SELECT l.payload FROM ` + log + ` l WHERE l.transaction_id = e.transaction_id AND l."offset" = e.position)`
}

// scanEventRow reads one row of eventColumns as loadEvents does.
func scanEventRow(rows *sql.Rows) (string, domain.LoggedEvent, error) {
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
func scanDecisionRow(rows *sql.Rows) (string, domain.Decision, leadState, error) {
	var (
		orderID           string
		l                 leadState
		d                 domain.Decision
		warnings, payload []byte
		deliveredAt       sql.NullTime
	)
	if err := rows.Scan(&orderID, &d.Attempt, &d.Verdict, &d.Key, &d.Reason, &warnings, &d.PolicyVersion, &payload,
		&d.DecidedAt, &d.DecidedBy, &l.status, &l.tries, &deliveredAt); err != nil {
		return "", d, l, fmt.Errorf("scan decision: %w", err)
	}
	if deliveredAt.Valid {
		t := deliveredAt.Time.UTC()
		l.deliveredAt = &t
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

func sortDecisions(ds []domain.Decision) {
	slices.SortFunc(ds, func(a, b domain.Decision) int { return a.Attempt - b.Attempt })
}
