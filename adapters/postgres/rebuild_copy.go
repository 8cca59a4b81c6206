package postgres

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

// time writes t in UTC to the nanosecond, as lib/pq sends a time
// parameter; PostgreSQL rounds both to the microsecond alike.
func (r *copyRows) time(t time.Time) *copyRows {
	r.buf = t.UTC().AppendFormat(r.buf, "2006-01-02 15:04:05.999999999")
	r.buf = append(r.buf, '+', '0', '0', '\t')
	return r
}
