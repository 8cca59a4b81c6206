package rebuild

import (
	"bytes"
	"context"
	"database/sql/driver"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestCopyRowsTime_WritesWhatTheLayoutWrites holds the digit-by-digit
// writer to AppendFormat's answer, for chosen edges and random times.
func TestCopyRowsTime_WritesWhatTheLayoutWrites(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 120_000_000, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 1, time.UTC),
		time.Date(2026, 12, 3, 9, 5, 7, 100, time.FixedZone("MSK", 3*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 6, 7, 8, 9, 10, 11, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		ns := rng.Int64N(int64(250 * 365 * 24 * time.Hour))
		if rng.IntN(3) == 0 {
			ns -= ns % int64(time.Microsecond)
		}
		times = append(times, time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ns)))
	}
	for _, tm := range times {
		var r copyRows
		got := string(r.time(tm).buf)
		want := tm.UTC().Format(copyTimeLayout) + "+00\t"
		if got != want {
			t.Fatalf("time(%v) = %q, want %q", tm, got, want)
		}
	}
}

// lines is a COPY that keeps what CopyData is given, as lib/pq sends it:
// each call's text followed by a newline.
type lines struct{ got []byte }

func (l *lines) CopyData(_ context.Context, line string) (driver.Result, error) {
	l.got = append(append(l.got, line...), '\n')
	return driver.RowsAffected(0), nil
}

func TestSendRows_SendsEveryRowWholeInChunks(t *testing.T) {
	var buf []byte
	for i := range 5000 {
		buf = append(buf, strings.Repeat("x", i%97)...)
		buf = append(buf, '\n')
	}
	long := strings.Repeat("y", 3*copyChunk)
	buf = append(buf, long+"\n"...)
	buf = append(buf, "last\n"...)
	for _, b := range [][]byte{buf, []byte("one\n"), []byte(long + "\n")} {
		var l lines
		if err := sendRows(context.Background(), &l, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.got, b) {
			t.Fatalf("sent %d bytes that differ from the %d given", len(l.got), len(b))
		}
	}
}
