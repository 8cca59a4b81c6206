package domain

import "encoding/json"

// MaxBatch is the most events one ingest request may carry.
const MaxBatch = 1000

// ParseEvent validates one event envelope (contract.md, "Events in") and
// returns the fact it states, with phones normalised. A *FieldError names the
// first offending field ("event_id", "data.attempt", "data.client_phone", …).
func ParseEvent(raw json.RawMessage) (CallEvent, error) {
	panic("TODO")
}

// MarshalEvent writes the canonical envelope of a parsed event: the form the
// log stores and compares for idempotency (times in UTC, phones normalised).
func MarshalEvent(e CallEvent) ([]byte, error) {
	panic("TODO")
}
