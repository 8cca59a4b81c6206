package domain

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The ingest body is checked once with json.Valid; its arrays and objects
// are then split by the functions below, which trust that check. Decoding
// each level with json.Unmarshal checked and scanned every byte again per
// level of nesting and built a map per object: two thirds of the parse's
// time before the phones.

// jsonMember is one member of a JSON object: its decoded name and its raw
// value. The name is bytes, most often those of the input: a string of its
// own for every name was a tenth of a rebuild's allocations.
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

// skipString returns the index after the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // and the character it escapes
		}
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		for depth := 0; ; {
			switch b[i] {
			case '"':
				i = skipString(b, i)
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
	}
	for i < len(b) && strings.IndexByte(",]} \t\r\n", b[i]) < 0 { // a literal ends here
		i++
	}
	return i
}

// arrayElements splits a valid JSON array, b[0] == '['.
func arrayElements(b []byte) []json.RawMessage {
	var out []json.RawMessage
	i := skipSpace(b, 1)
	for b[i] != ']' {
		j := skipValue(b, i)
		out = append(out, b[i:j])
		if i = skipSpace(b, j); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// objectMembers splits a valid JSON object, b[0] == '{', keeping the
// members' order and any repeated names.
func objectMembers(b []byte) []jsonMember {
	out := make([]jsonMember, 0, 8) // an envelope has 6, its data up to 7
	i := skipSpace(b, 1)
	for b[i] != '}' {
		k := skipString(b, i)
		key := decodeName(b[i:k])
		i = skipSpace(b, skipSpace(b, k)+1) // past the colon
		j := skipValue(b, i)
		out = append(out, jsonMember{key: key, value: b[i:j]})
		if i = skipSpace(b, j); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// decodeName is decodeString for a member's name, without copying one
// that needs no decoding.
func decodeName(raw []byte) []byte {
	if inner, ok := undecoded(raw); ok {
		return inner
	}
	return []byte(unescape(raw))
}

// decodeString decodes a valid JSON string as json.Unmarshal does,
// invalid UTF-8 turned into U+FFFD included; most need no decoding.
func decodeString(raw []byte) string {
	if inner, ok := undecoded(raw); ok {
		return string(inner)
	}
	return unescape(raw)
}

// undecoded is a valid JSON string's content, and whether it reads as it
// stands: no escape, and valid UTF-8.
func undecoded(raw []byte) ([]byte, bool) {
	inner := raw[1 : len(raw)-1]
	return inner, bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

// unescape decodes a valid JSON string the slow way, through json.Unmarshal.
func unescape(raw []byte) string {
	var s string
	_ = json.Unmarshal(raw, &s) // valid, so it cannot fail
	return s
}
