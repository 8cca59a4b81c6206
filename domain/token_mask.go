package domain

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaskToken is how a Calltouch token is shown: "****" and its last 4
// characters when it has 12 or more, so a short one is not mostly given away.
func MaskToken(token string) string {
	r := []rune(token)
	if len(r) < 12 {
		return "****"
	}
	return "****" + string(r[len(r)-4:])
}

// maxMaskPasses bounds how often MaskTokenIn masks the text again.
const maxMaskPasses = 8

// MaskTokenIn replaces every occurrence of token in text by MaskToken(token):
// as it is, JSON-escaped (\/, \", \\, \uXXXX and surrogate pairs, whichever
// characters the encoder chose to escape), URL-encoded (%XX in either case,
// whichever characters the encoder chose to encode), or URL-encoded inside
// a JSON string. That covers what json.Marshal, url.QueryEscape and
// url.PathEscape make of a token, and other encoders' choices. Calltouch
// may quote the token back in an answer, and nothing stored or shown may
// hold it (docs/api.md, "Tokens").
func MaskTokenIn(text, token string) string {
	if token == "" {
		return text
	}
	mask := MaskToken(token)
	passes := maxMaskPasses
	if strings.Contains(mask, token) {
		// Masking again would only find the token in its own mask.
		passes = 1
	}
	// The mask keeps the token's last characters, which may join the text
	// after it into a new occurrence: mask until none is left.
	for range passes {
		masked, found := maskOnce(text, token, mask)
		if !found {
			break
		}
		text = masked
	}
	return text
}

// maskOnce replaces each stretch of text that holds the token in one of its
// forms (overlapping occurrences make one stretch) by mask, and reports
// whether there was any.
func maskOnce(text, token, mask string) (string, bool) {
	found := occurrences(nil, rawView(text), token)
	escaped, encoded := strings.Contains(text, `\`), strings.Contains(text, "%")
	if escaped {
		found = occurrences(found, rawView(text).decode(jsonEscape), token)
	}
	if encoded {
		found = occurrences(found, rawView(text).decode(percentEscape), token)
	}
	if escaped && encoded {
		found = occurrences(found, rawView(text).decode(jsonEscape).decode(percentEscape), token)
	}
	if len(found) == 0 {
		return text, false
	}
	slices.SortFunc(found, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for i := 0; i < len(found); {
		s := found[i]
		for i++; i < len(found) && found[i].start < s.end; i++ {
			s.end = max(s.end, found[i].end)
		}
		b.WriteString(text[last:s.start])
		b.WriteString(mask)
		last = s.end
	}
	b.WriteString(text[last:])
	return b.String(), true
}

// span is the bytes [start, end) of the text being masked.
type span struct{ start, end int }

// view is the text being masked decoded one way: byte i of decoded came
// from the text's bytes from[i] to to[i]. nil slices mean decoded is the
// text itself.
type view struct {
	decoded  string
	from, to []int
}

func rawView(text string) view { return view{decoded: text} }

// source is the stretch of the text that decoded[i:j] came from.
func (v view) source(i, j int) span {
	if v.from == nil {
		return span{i, j}
	}
	return span{v.from[i], v.to[j-1]}
}

// occurrences appends where the token occurs in v, overlapping ones included.
func occurrences(found []span, v view, token string) []span {
	for at := 0; ; at++ {
		i := strings.Index(v.decoded[at:], token)
		if i < 0 {
			return found
		}
		at += i
		found = append(found, v.source(at, at+len(token)))
	}
}

// decode decodes v further with step, which reads what the bytes at s[i]
// stand for and how many of them it read (at least 1).
func (v view) decode(step func(s string, i int) (string, int)) view {
	var (
		out      strings.Builder
		from, to []int
	)
	out.Grow(len(v.decoded))
	for i := 0; i < len(v.decoded); {
		part, n := step(v.decoded, i)
		src := v.source(i, i+n)
		out.WriteString(part)
		for range len(part) {
			from, to = append(from, src.start), append(to, src.end)
		}
		i += n
	}
	return view{decoded: out.String(), from: from, to: to}
}

// jsonEscape reads one JSON escape sequence at s[i], or one byte.
func jsonEscape(s string, i int) (string, int) {
	if s[i] != '\\' || i+1 >= len(s) {
		return s[i : i+1], 1
	}
	if r, ok := jsonShortEscape(s[i+1]); ok {
		return string(r), 2
	}
	u := hexAt(s, i+2, 4)
	if s[i+1] != 'u' || u < 0 {
		return s[i : i+1], 1
	}
	if utf16.IsSurrogate(rune(u)) && strings.HasPrefix(s[i+6:], `\u`) {
		if r := utf16.DecodeRune(rune(u), rune(hexAt(s, i+8, 4))); r != utf8.RuneError {
			return string(r), 12
		}
	}
	return string(rune(u)), 6
}

// percentEscape reads one %XX at s[i], or one byte.
func percentEscape(s string, i int) (string, int) {
	if b := hexAt(s, i+1, 2); s[i] == '%' && b >= 0 {
		return string([]byte{byte(b)}), 3
	}
	return s[i : i+1], 1
}

// jsonShortEscape is the character a two-character JSON escape \c stands for.
func jsonShortEscape(c byte) (rune, bool) {
	switch c {
	case '"', '\\', '/':
		return rune(c), true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// hexAt reads n hex digits of either case at s[i]; -1 when there are not n.
func hexAt(s string, i, n int) int {
	if i+n > len(s) {
		return -1
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}
