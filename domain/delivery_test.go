package domain

import (
	"math"
	"testing"
	"time"
)

func TestClassifyTry(t *testing.T) {
	tests := []struct {
		status int
		want   TryOutcome
	}{
		{200, Delivered},
		{201, Delivered},
		{204, Delivered},
		{299, Delivered},
		{0, Transient}, // network error or timeout
		{408, Transient},
		{429, Transient},
		{500, Transient},
		{502, Transient},
		{503, Transient},
		{599, Transient},
		{400, Refused},
		{401, Refused},
		{403, Refused},
		{404, Refused},
		{409, Refused},
		{422, Refused},
		{499, Refused},
		{301, Refused},
		{302, Refused},
		{100, Refused},
		{600, Refused},
		{-1, Refused},
	}
	for _, tt := range tests {
		if got := ClassifyTry(tt.status); got != tt.want {
			t.Errorf("ClassifyTry(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 5 * time.Minute}
	const mid = 0.5 // multiplier 1.0
	tests := []struct {
		name       string
		policy     RetryPolicy
		tries      int
		retryAfter time.Duration
		jitter     float64
		want       time.Duration
	}{
		{"after the first try: Base", p, 1, 0, mid, time.Second},
		{"doubles per try", p, 2, 0, mid, 2 * time.Second},
		{"third try", p, 3, 0, mid, 4 * time.Second},
		{"ninth try", p, 9, 0, mid, 256 * time.Second},
		{"capped at Max", p, 10, 0, mid, 5 * time.Minute},
		{"huge tries do not overflow", p, math.MaxInt, 0, mid, 5 * time.Minute},
		{"tries below one count as one", p, 0, 0, mid, time.Second},
		{"jitter 0 shortens by a fifth", p, 1, 0, 0, 800 * time.Millisecond},
		{"jitter 0.75 lengthens by a tenth", p, 3, 0, 0.75, 4400 * time.Millisecond},
		{"jitter never goes above Max", p, 9, 0, 0.999999, 5 * time.Minute},
		{"jitter may go below Max once capped", p, 20, 0, 0, 4 * time.Minute},
		{"jitter out of range is clamped", p, 1, 0, 7, 1200 * time.Millisecond},
		{"NaN jitter counts as 0", p, 1, 0, math.NaN(), 800 * time.Millisecond},
		{"longer Retry-After wins", p, 1, 30 * time.Second, mid, 30 * time.Second},
		{"shorter Retry-After is ignored", p, 5, 3 * time.Second, mid, 16 * time.Second},
		{"Retry-After may exceed Max", p, 20, time.Hour, mid, time.Hour},
		{"Max below Base caps Base", RetryPolicy{Base: time.Minute, Max: time.Second}, 1, 0, mid, time.Second},
		{"near-maximal durations do not overflow",
			RetryPolicy{Base: time.Duration(math.MaxInt64 / 2), Max: time.Duration(math.MaxInt64)},
			5, 0, 0.999999, time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Delay(tt.tries, tt.retryAfter, tt.jitter); got != tt.want {
				t.Errorf("Delay(%d, %v, %v) = %v, want %v", tt.tries, tt.retryAfter, tt.jitter, got, tt.want)
			}
		})
	}
}

func TestRetryDelay_StaysWithinJitterBand(t *testing.T) {
	p := RetryPolicy{Base: 250 * time.Millisecond, Max: time.Minute}
	for tries := 1; tries <= 12; tries++ {
		nominal := p.Delay(tries, 0, 0.5)
		for _, j := range []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999} {
			d := p.Delay(tries, 0, j)
			lo := time.Duration(float64(nominal) * 0.8)
			if d < lo || d > p.Max || float64(d) > float64(nominal)*1.2 {
				t.Errorf("Delay(%d, 0, %v) = %v, want within [%v, min(%v, Max)]", tries, j, d, lo, time.Duration(float64(nominal)*1.2))
			}
		}
	}
}
