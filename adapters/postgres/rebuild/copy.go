package rebuild

import (
	"strconv"
	"time"
)

// copyRows is rows in COPY's text format: columns separated by tabs, rows
// by newlines, \N for NULL, backslash escapes in text.
type copyRows struct {
	buf []byte
	n   int // rows ended
}

func (r *copyRows) reset() { r.buf, r.n = r.buf[:0], 0 }

func (r *copyRows) endRow() {
	r.buf[len(r.buf)-1] = '\n' // the last column's tab
	r.n++
}

func (r *copyRows) null() *copyRows {
	r.buf = append(r.buf, '\\', 'N', '\t')
	return r
}

func (r *copyRows) text(s string) *copyRows {
	r.buf = appendEscaped(r.buf, s)
	return r
}

// bytes is text given as bytes (JSON, mostly).
func (r *copyRows) bytes(b []byte) *copyRows {
	r.buf = appendEscaped(r.buf, b)
	return r
}

// appendEscaped appends s as one column of COPY's text format, and its tab.
func appendEscaped[S string | []byte](buf []byte, s S) []byte {
	if !needsEscape(s) {
		buf = append(buf, s...)
		return append(buf, '\t')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '\t')
}

// needsEscape reports whether s holds a character COPY's text format
// escapes: a backslash, or a control character (only \n, \r and \t need it;
// the others pass either way). A plain loop: strings.IndexAny costs more per
// call, and a rebuild calls this for every column.
func needsEscape[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c < ' ' {
			return true
		}
	}
	return false
}

// textOrNull writes NULL for the empty string, as NULLIF($n, ”) does.
func (r *copyRows) textOrNull(s string) *copyRows {
	if s == "" {
		return r.null()
	}
	return r.text(s)
}

func (r *copyRows) int(n int64) *copyRows {
	r.buf = strconv.AppendInt(r.buf, n, 10)
	r.buf = append(r.buf, '\t')
	return r
}

func (r *copyRows) uint(n uint64) *copyRows {
	r.buf = strconv.AppendUint(r.buf, n, 10)
	r.buf = append(r.buf, '\t')
	return r
}

// intOrNull writes NULL for 0, as the live projection stores "none".
func (r *copyRows) intOrNull(n int) *copyRows {
	if n == 0 {
		return r.null()
	}
	return r.int(int64(n))
}

func (r *copyRows) bool(b bool) *copyRows {
	if b {
		r.buf = append(r.buf, 't', '\t')
	} else {
		r.buf = append(r.buf, 'f', '\t')
	}
	return r
}

// copyTimeLayout is how a time goes into COPY: UTC to the nanosecond, as
// lib/pq sends a time parameter; PostgreSQL rounds both to the microsecond
// alike.
const copyTimeLayout = "2006-01-02 15:04:05.999999999"

// time writes t as copyTimeLayout does, digit by digit: AppendFormat reads
// its layout again on every call, and took a tenth of a rebuild's Go time.
// Years outside 0–9999, which the layout writes otherwise, go through it.
func (r *copyRows) time(t time.Time) *copyRows {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		r.buf = t.AppendFormat(r.buf, copyTimeLayout)
	} else {
		hour, minute, second := t.Clock()
		r.buf = appendPadded(r.buf, year, 4)
		r.buf = appendPadded(append(r.buf, '-'), int(month), 2)
		r.buf = appendPadded(append(r.buf, '-'), day, 2)
		r.buf = appendPadded(append(r.buf, ' '), hour, 2)
		r.buf = appendPadded(append(r.buf, ':'), minute, 2)
		r.buf = appendPadded(append(r.buf, ':'), second, 2)
		r.buf = appendFraction(r.buf, t.Nanosecond())
	}
	r.buf = append(r.buf, '+', '0', '0', '\t')
	return r
}

// appendPadded appends n ≥ 0 in width digits, zeros first.
func appendPadded(b []byte, n, width int) []byte {
	b = append(b, make([]byte, width)...)
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}

// appendFraction appends ".d…" with the nanoseconds' trailing zeros left
// out, nothing when there are none: the layout's ".999999999".
func appendFraction(b []byte, ns int) []byte {
	if ns == 0 {
		return b
	}
	digits := 9
	for ns%10 == 0 {
		ns /= 10
		digits--
	}
	return appendPadded(append(b, '.'), ns, digits)
}
