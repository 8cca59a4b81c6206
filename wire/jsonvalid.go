package wire

import "encoding/json"

// validJSON reports what json.Valid reports, nesting limit included, in a
// plain loop over the bytes: json.Valid steps a state machine through a
// function call per byte, which made it the largest cost of reading a
// batch. FuzzValidJSON holds the two to the same answers.
func validJSON(b []byte) bool {
	return scanJSON(b, nil)
}

// validArray is validJSON for a body that is an array, b[0] == '[' after
// any space, giving its elements as well: the pass that checks the body
// splits it too.
func validArray(b []byte) ([]json.RawMessage, bool) {
	// Room for as many elements as a body of events this long is likely to
	// hold, so that a full batch is seldom copied as it grows.
	elements := make([]json.RawMessage, 0, min(len(b)/128+1, MaxBatch+1))
	ok := scanJSON(b, &elements)
	return elements, ok
}

// scanJSON is validJSON, appending to *elements (when not nil) each
// element of the top-level array, as it stands in b.
func scanJSON(b []byte, elements *[]json.RawMessage) bool {
	var open [64]byte
	stack := open[:0] // '{' or '[' for each container not yet closed
	element := -1     // where the top-level array's current element starts
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		if elements != nil && len(stack) == 1 && stack[0] == '[' {
			element = i
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxJSONDepth {
				return false
			}
			stack = append(stack, c)
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == closerOf(c) {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i = validMemberName(b, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			i = validString(b, i)
		case 't':
			i = validLiteral(b, i, "true")
		case 'f':
			i = validLiteral(b, i, "false")
		case 'n':
			i = validLiteral(b, i, "null")
		default:
			i = validNumber(b, i)
		}
		if i < 0 {
			return false
		}
		// After a value: close what ends here, then find the next value.
		for {
			if element >= 0 && len(stack) == 1 {
				*elements = append(*elements, b[element:i])
				element = -1
			}
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			if b[i] == closerOf(top) {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
			if top == '{' {
				if i = validMemberName(b, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// maxJSONDepth is encoding/json's limit on nesting: one container more
// and json.Valid says false.
const maxJSONDepth = 10000

func closerOf(opener byte) byte {
	if opener == '{' {
		return '}'
	}
	return ']'
}

// validMemberName checks a member's name and its colon at b[i] and returns
// the index of its value, or -1.
func validMemberName(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// validString returns the index after the string at b[i] (b[i] == '"'),
// or -1 when it is not a valid JSON string. Like json.Valid, it takes any
// byte from 0x20 up, valid UTF-8 or not.
func validString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// validLiteral returns the index after word at b[i], or -1.
func validLiteral(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// validNumber returns the index after the number at b[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i)
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}
