package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// jsonObject reads the members of one JSON object and names each by its path
// ("data.attempt") in errors, so callers state rules, not decoding.
// A member that is null counts as absent, and so does an empty string.
// A name given twice means its last value, as json.Unmarshal has it.
type jsonObject struct {
	prefix  string // "" or "data."
	members []jsonMember
	// scratch, when set, is where the objects inside this one put their
	// members: a batch reuses one slice for every event's objects instead
	// of making a slice per object.
	scratch *[]jsonMember
}

// parseObject returns raw as an object, or false when it is anything else
// or not valid JSON.
func parseObject(raw []byte, prefix string) (jsonObject, bool) {
	if !json.Valid(raw) {
		return jsonObject{}, false
	}
	return validObject(raw, prefix)
}

// validObject is parseObject without the json.Valid pass, for JSON already
// checked valid or read back from the log; false also when the splitter
// finds raw is not an object after all.
func validObject(raw []byte, prefix string) (jsonObject, bool) {
	return validObjectIn(nil, raw, prefix)
}

// validObjectIn is validObject with the members appended to *scratch
// (nil: a slice of their own); the object and those inside it keep
// using it.
func validObjectIn(scratch *[]jsonMember, raw []byte, prefix string) (jsonObject, bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return jsonObject{}, false
	}
	if scratch == nil {
		members, ok := appendMembers(nil, trimmed)
		return jsonObject{prefix: prefix, members: members}, ok
	}
	start := len(*scratch)
	all, ok := appendMembers(*scratch, trimmed)
	if !ok {
		return jsonObject{}, false
	}
	*scratch = all
	// Capped: what is appended later for other objects stays out of it.
	return jsonObject{prefix: prefix, members: all[start:len(all):len(all)], scratch: scratch}, true
}

func (o jsonObject) path(key string) string { return o.prefix + key }

// raw returns a member's JSON value; false when it is missing or null.
func (o jsonObject) raw(key string) (json.RawMessage, bool) {
	for i := len(o.members) - 1; i >= 0; i-- {
		if m := o.members[i]; string(m.key) == key {
			if string(m.value) == "null" {
				return nil, false
			}
			return m.value, true
		}
	}
	return nil, false
}

// str returns a string member, "" when absent.
func (o jsonObject) str(key string) (string, error) {
	v, ok := o.raw(key)
	if !ok {
		return "", nil
	}
	s, ok := decodeString(v)
	if !ok {
		return "", fieldErr(o.path(key), "must be a string")
	}
	return s, nil
}

// strBytes is str as bytes: those of the input when the string needs no
// decoding, so a value only compared with known words costs no copy.
func (o jsonObject) strBytes(key string) ([]byte, error) {
	v, ok := o.raw(key)
	if !ok {
		return nil, nil
	}
	b, ok := decodeName(v)
	if !ok {
		return nil, fieldErr(o.path(key), "must be a string")
	}
	return b, nil
}

// knownStr is str for a member most often one of words: that word itself
// then, not a copy of it.
func (o jsonObject) knownStr(key string, words []string) (string, error) {
	b, err := o.strBytes(key)
	if err != nil {
		return "", err
	}
	for _, w := range words {
		if string(b) == w {
			return w, nil
		}
	}
	return string(b), nil
}

// stringField is a string member and where to read it into.
type stringField struct {
	key string
	dst *string
}

// strings reads several string members, each into its destination.
func (o jsonObject) strings(fields ...stringField) error {
	for _, f := range fields {
		var err error
		if *f.dst, err = o.str(f.key); err != nil {
			return err
		}
	}
	return nil
}

// int reads an integer member, 0 when absent.
func (o jsonObject) int(key string) (int, error) {
	n, present, ok := o.integer(key)
	if present && !ok {
		return 0, fieldErr(o.path(key), "must be an integer")
	}
	return int(n), nil
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
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fieldErr(o.path(key), "must be true or false")
}

// stringMap reads an object of strings as json.Unmarshal reads it into a
// map of *string: the last of a repeated name wins, a null value reads as
// "" and its name is in nulls (in member order, only while no later string
// replaced it), and ok is false when any value is neither a string nor
// null. One pass: looking each name up with raw would be quadratic in the
// members.
func (o jsonObject) stringMap() (m map[string]string, nulls []string, ok bool) {
	m = make(map[string]string, len(o.members))
	var null map[string]bool
	for _, mem := range o.members {
		key := string(mem.key)
		switch {
		case string(mem.value) == "null":
			if null == nil {
				null = map[string]bool{}
			}
			m[key], null[key] = "", true
		default:
			s, isString := decodeString(mem.value)
			if !isString {
				return nil, nil, false
			}
			m[key] = s
			delete(null, key)
		}
	}
	for _, mem := range o.members {
		if key := string(mem.key); null[key] {
			nulls = append(nulls, key)
			delete(null, key) // once, however often it is named
		}
	}
	return m, nulls, true
}

// object returns an object member, with its members' paths under prefix
// (the member's path and a dot); an empty object when absent.
func (o jsonObject) object(key, prefix string) (jsonObject, error) {
	v, present := o.raw(key)
	if !present {
		return jsonObject{prefix: prefix, scratch: o.scratch}, nil
	}
	obj, ok := validObjectIn(o.scratch, v, prefix)
	if !ok {
		return jsonObject{}, fieldErr(o.path(key), "must be a JSON object")
	}
	return obj, nil
}

// requiredTimestamp is timestamp for a member that must be present.
func (o jsonObject) requiredTimestamp(key string) (time.Time, error) {
	t, present, err := o.timeValue(key)
	if err == nil && !present {
		err = fieldErr(o.path(key), "required")
	}
	return t, err
}

// timestamp reads an RFC 3339 time member as UTC; nil when absent.
func (o jsonObject) timestamp(key string) (*time.Time, error) {
	t, present, err := o.timeValue(key)
	if err != nil || !present {
		return nil, err
	}
	return &t, nil
}

// timeValue is timestamp without the pointer, which would put every
// required time on the heap.
func (o jsonObject) timeValue(key string) (t time.Time, present bool, err error) {
	s, err := o.str(key)
	if err != nil || s == "" {
		return time.Time{}, false, err
	}
	t, err = time.Parse(time.RFC3339Nano, s)
	// An offset can carry a time into year -1 or 10000, which RFC 3339
	// cannot write back in UTC: refuse it rather than store a time the
	// canonical form cannot hold.
	if err != nil || t.UTC().Year() < 0 || t.UTC().Year() > 9999 {
		return time.Time{}, false, fieldErr(o.path(key), "must be an RFC 3339 time such as 2026-11-24T10:15:00+03:00")
	}
	return t.UTC(), true, nil
}
