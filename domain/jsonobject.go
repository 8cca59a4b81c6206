package domain

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// jsonObject reads the members of one JSON object and names each by its path
// ("data.attempt") in errors, so callers state rules, not decoding.
// A member that is null counts as absent, and so does an empty string.
type jsonObject struct {
	prefix  string // "" or "data."
	members map[string]json.RawMessage
}

// parseObject returns raw as an object, or false when it is anything else
// (json.Unmarshal would quietly turn null into an empty map).
func parseObject(raw []byte, prefix string) (jsonObject, bool) {
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' {
		return jsonObject{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return jsonObject{}, false
	}
	return jsonObject{prefix: prefix, members: m}, true
}

func (o jsonObject) path(key string) string { return o.prefix + key }

// raw returns a member's JSON value; false when it is missing or null.
func (o jsonObject) raw(key string) (json.RawMessage, bool) {
	v, ok := o.members[key]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// str returns a string member, "" when absent.
func (o jsonObject) str(key string) (string, error) {
	v, ok := o.raw(key)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fieldErr(o.path(key), "must be a string")
	}
	return s, nil
}

// requiredStr is str for a member that must be present and non-empty.
func (o jsonObject) requiredStr(key string) (string, error) {
	s, err := o.str(key)
	if err == nil && s == "" {
		err = fieldErr(o.path(key), "required")
	}
	return s, err
}

// integer reads a member written as a JSON integer literal: 2, not 2.0, "2"
// or 2e0, so the canonical form never has to pick one spelling of a number.
func (o jsonObject) integer(key string) (n int64, present, ok bool) {
	v, present := o.raw(key)
	if !present {
		return 0, false, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, true, err == nil
}

// boolean reads a true/false member, def when absent.
func (o jsonObject) boolean(key string, def bool) (bool, error) {
	v, ok := o.raw(key)
	if !ok {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, fieldErr(o.path(key), "must be true or false")
	}
	return b, nil
}

// timestamp reads an RFC 3339 time member as UTC; nil when absent.
func (o jsonObject) timestamp(key string) (*time.Time, error) {
	s, err := o.str(key)
	if err != nil || s == "" {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	// An offset can carry a time into year -1 or 10000, which RFC 3339
	// cannot write back in UTC: refuse it rather than store a time the
	// canonical form cannot hold.
	if err != nil || t.UTC().Year() < 0 || t.UTC().Year() > 9999 {
		return nil, fieldErr(o.path(key), "must be an RFC 3339 time such as 2026-11-24T10:15:00+03:00")
	}
	t = t.UTC()
	return &t, nil
}
