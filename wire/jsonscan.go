package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The ingest body is checked once, by validJSON, which splits the batch's
// array in the same pass; its objects are then split by the functions
// below, in one pass rather than decoding
// each level with json.Unmarshal, which would check and scan every byte
// again per level of nesting and build a map per object. The log's
// records are split without json.Valid at all (see UnmarshalEvent), so the
// splitters check every index against the input's end themselves: input
// that is not JSON makes them report false, never read past the slice.

// jsonMember is one member of a JSON object: its decoded name and its raw
// value. The name is bytes, most often those of the input: a string of its
// own for every name costs an allocation per member read back.
type jsonMember struct {
	key   []byte
	value json.RawMessage
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1
// when b ends before the string does.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // and the character it escapes
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1 when
// there is none: b ends first, or nothing stands where the value should.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		for depth := 0; i < len(b); {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	start := i
	for i < len(b) && strings.IndexByte(",]} \t\r\n", b[i]) < 0 { // a literal ends here
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// pastSeparator moves past what follows a member: the index of
// the next one, whether the container goes on, and false when neither a
// comma nor the closer stands there.
func pastSeparator(b []byte, i int, closer byte) (j int, more, ok bool) {
	i = skipSpace(b, i)
	switch {
	case i >= len(b):
		return i, false, false
	case b[i] == ',':
		return skipSpace(b, i+1), true, true
	case b[i] == closer:
		return i, false, true
	}
	return i, false, false
}

// appendMembers splits a JSON object, b[0] == '{', onto out, keeping the
// members' order and any repeated names; false when it is not one.
func appendMembers(out []jsonMember, b []byte) ([]jsonMember, bool) {
	if out == nil {
		out = make([]jsonMember, 0, 8) // an envelope has 6, its data up to 7
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return out, true
	}
	for more := true; more; {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		k := skipString(b, i)
		if k < 0 {
			return nil, false
		}
		key, ok := decodeName(b[i:k])
		if !ok {
			return nil, false
		}
		if i = skipSpace(b, k); i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		j := skipValue(b, i)
		if j < 0 {
			return nil, false
		}
		out = append(out, jsonMember{key: key, value: b[i:j]})
		if i, more, ok = pastSeparator(b, j, '}'); !ok {
			return nil, false
		}
	}
	return out, true
}

// decodeName is decodeString for a member's name, without copying one
// that needs no decoding.
func decodeName(raw []byte) ([]byte, bool) {
	if inner, plain := undecoded(raw); plain {
		return inner, true
	}
	s, ok := unescape(raw)
	return []byte(s), ok
}

// decodeString decodes a JSON string as json.Unmarshal does, invalid UTF-8
// turned into U+FFFD included; false when raw is no JSON string. Most need
// no decoding.
func decodeString(raw []byte) (string, bool) {
	if inner, plain := undecoded(raw); plain {
		return string(inner), true
	}
	return unescape(raw)
}

// undecoded is a string's content, and whether it reads as it stands:
// quoted, no escape, and valid UTF-8.
func undecoded(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	return inner, bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner)
}

// unescape decodes a JSON string the slow way, through json.Unmarshal.
func unescape(raw []byte) (string, bool) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}
