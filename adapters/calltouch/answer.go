package calltouch

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ctjournal/app"
	"ctjournal/domain"
)

const (
	maxBody    = 64 << 10 // read at most this much of an answer: a broken proxy may send megabytes
	maxExcerpt = 1 << 10  // the try event keeps this much of it (docs/calltouch.md)
)

// readAnswer reads an HTTP answer; now is when its headers arrived.
// token is masked in the whole body before the excerpt is cut from it, so
// that no head of the token is left at the cut.
func readAnswer(resp *http.Response, now time.Time, token string) app.CalltouchAnswer {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	// Empty what is left, within reason, so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	answer := app.CalltouchAnswer{
		Status:     resp.StatusCode,
		Response:   excerpt(domain.MaskTokenIn(string(body), token)),
		RequestID:  requestID(body),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now),
	}
	if err != nil {
		answer.Err = "read answer: " + err.Error()
	}
	return answer
}

// excerpt is the body's first maxExcerpt bytes, cut on a rune boundary and
// with invalid UTF-8 replaced, so that the log can store it as text.
func excerpt(body string) string {
	s := strings.ToValidUTF8(body, "\uFFFD")
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// requestID is the requestId of a JSON object body, a number or a string;
// "" when there is none.
func requestID(body []byte) string {
	var v struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	raw := bytes.TrimSpace(v.RequestID)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number // keeps the digits as sent, even past float64 precision
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// 0 when absent, unreadable or already past.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, math.MaxInt64/int64(time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
