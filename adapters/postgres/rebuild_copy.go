package postgres

import (
	"strconv"
	"strings"
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
	if strings.IndexAny(s, "\\\n\r\t") < 0 {
		r.buf = append(r.buf, s...)
		r.buf = append(r.buf, '\t')
		return r
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			r.buf = append(r.buf, '\\', '\\')
		case '\n':
			r.buf = append(r.buf, '\\', 'n')
		case '\r':
			r.buf = append(r.buf, '\\', 'r')
		case '\t':
			r.buf = append(r.buf, '\\', 't')
		default:
			r.buf = append(r.buf, c)
		}
	}
	r.buf = append(r.buf, '\t')
	return r
}

// bytes is text given as bytes (JSON, mostly).
func (r *copyRows) bytes(b []byte) *copyRows { return r.text(string(b)) }

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
