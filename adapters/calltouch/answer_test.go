package calltouch

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"Tue, 24 Nov 2026 10:17:00 GMT", 2 * time.Minute},
		{"Tuesday, 24-Nov-26 10:16:00 GMT", time.Minute},  // RFC 850, still allowed
		{"Tue, 24 Nov 2026 10:14:00 GMT", 0},              // already past
		{"9223372036854775807", 9223372036 * time.Second}, // capped, not overflowed
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"requestId": 42}`, "42"},
		{`{"requestId": 12345678901234567890}`, "12345678901234567890"},
		{`{"requestId": "abc-1"}`, "abc-1"},
		{`{"requestId": null}`, ""},
		{`{"requestId": true}`, ""},
		{`{"other": 1}`, ""},
		{`[1, 2]`, ""},
		{`not json`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := requestID([]byte(tt.body)); got != tt.want {
			t.Errorf("requestID(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
