package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"ctjournal/domain"
)

// nulEscape is the only way U+0000 can be in valid JSON: json.Valid
// refuses a raw NUL byte, in a string or outside one.
var nulEscape = []byte(`\u0000`)

// nulString finds the first string of the valid JSON value raw, at any
// depth, that holds U+0000: a member's value or name, known or not. No
// store holds U+0000 as text (PostgreSQL's text and JSONB refuse it), so an
// input holding one is refused whole. path is that string's place
// ("data.details.page", "tags[2]"); for a name, the object's ("data.details",
// "" for raw itself), and inName is true.
//
// Most inputs hold no escape of it and are not walked. Those that do are
// walked once, token by token, so the cost stays linear however deep the
// input nests; an escaped backslash before "u0000" is no NUL and is told
// apart by the decoder.
func nulString(raw []byte) (path string, inName, found bool) {
	if !bytes.Contains(raw, nulEscape) {
		return "", false, false
	}
	type container struct {
		path    string
		object  bool
		name    string // object: the current member's name
		wantKey bool   // object: the next string is a name
		index   int    // array: the next element's index
	}
	var stack []*container
	// next is the path of the value about to be read, and moves its
	// container on past it.
	next := func() string {
		if len(stack) == 0 {
			return ""
		}
		c := stack[len(stack)-1]
		if c.object {
			c.wantKey = true
			return joinPath(c.path, c.name)
		}
		c.index++
		return fmt.Sprintf("%s[%d]", c.path, c.index-1)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // a number beyond float64 is no error here
	for {
		tok, err := dec.Token()
		if err != nil { // the end: raw is valid JSON
			return "", false, false
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, &container{path: next(), object: tok == '{', wantKey: tok == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				c := stack[n-1]
				if strings.IndexByte(tok, 0) >= 0 {
					return c.path, true, true
				}
				c.name, c.wantKey = tok, false
				continue
			}
			if p := next(); strings.IndexByte(tok, 0) >= 0 {
				return p, false, true
			}
		default:
			next()
		}
	}
}

// nulError is the domain.FieldError of a string nulString found.
func nulError(path string, inName bool) *domain.FieldError {
	if inName {
		return fieldErr(path, "must not have a member name holding U+0000")
	}
	return fieldErr(path, "must not contain U+0000")
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
