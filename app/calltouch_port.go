package app

import (
	"context"
	"time"
)

// CalltouchRequest is one "register request" call: where to, with which
// credentials, and the exact form body the lead's payload encodes to.
type CalltouchRequest struct {
	BaseURL string // scheme://host[:port], no trailing slash
	SiteID  string
	Token   string // goes in the Access-Token header only; never logged
	Body    string // form-encoded payload, sent byte for byte
}

// CalltouchAnswer is what one try got back. Status is 0 when no HTTP answer
// arrived (network error, timeout); Err then says why.
type CalltouchAnswer struct {
	Status     int
	Response   string        // first 1 KiB of the response body
	RequestID  string        // Calltouch's requestId from a JSON body, when present
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Duration   time.Duration
	Err        string
}

// Calltouch sends one lead to a customer's Calltouch request journal.
type Calltouch interface {
	Register(ctx context.Context, req CalltouchRequest) CalltouchAnswer
}
