package domain

import "time"

// TryOutcome is what one try to send a lead to Calltouch means for the lead.
type TryOutcome string

const (
	Delivered TryOutcome = "delivered" // Calltouch accepted the lead
	Transient TryOutcome = "transient" // no answer or a passing failure: retry
	Refused   TryOutcome = "refused"   // Calltouch rejects this request: retrying will not help
)

// ClassifyTry reads the HTTP status of one try (docs/calltouch.md, "The answer").
// Status 0 means no HTTP answer arrived: a network error or a timeout.
func ClassifyTry(status int) TryOutcome {
	switch {
	case status >= 200 && status <= 299:
		return Delivered
	case status == 0, status == 408, status == 429, status >= 500 && status <= 599:
		return Transient
	default:
		// Redirects are refused too: the request was not taken, and following
		// one would not resend the same POST.
		return Refused
	}
}

// RetryPolicy spaces the tries of one lead: exponential backoff from Base,
// doubling per try, never longer than Max (CTJ_RETRY_BASE, CTJ_RETRY_MAX).
type RetryPolicy struct {
	Base, Max time.Duration
}

// Delay is how long to wait after the given number of tries (≥1) before the
// next one. jitter, in [0,1), comes from the caller so that the rules stay
// deterministic; it scales the delay by 0.8–1.2, still capped at Max, so that
// leads failing together do not retry together. A Retry-After longer than
// the delay wins even over Max: Calltouch asked for it, and the caller stops
// at the give-up time anyway.
func (p RetryPolicy) Delay(tries int, retryAfter time.Duration, jitter float64) time.Duration {
	d := p.backoff(tries)
	if !(jitter >= 0) { // also NaN
		jitter = 0
	}
	jitter = min(jitter, 1)
	scaled := float64(d) * (0.8 + 0.4*jitter)
	if scaled >= float64(p.Max) { // also keeps the conversion below in range
		d = p.Max
	} else {
		d = time.Duration(scaled)
	}
	if retryAfter > d {
		return retryAfter
	}
	return d
}

// backoff is Base·2^(tries-1) capped at Max, without overflowing.
func (p RetryPolicy) backoff(tries int) time.Duration {
	if p.Base <= 0 {
		return 0
	}
	if p.Base >= p.Max {
		return p.Max
	}
	d := p.Base
	for i := 1; i < tries; i++ {
		if d > p.Max/2 {
			return p.Max
		}
		d *= 2
	}
	return d
}
