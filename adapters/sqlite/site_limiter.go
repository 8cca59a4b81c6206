package sqlite

import (
	"context"
	"sync"
	"time"
)

// SiteLimiter spaces the requests to each Calltouch site to rps a second
// (app.SiteLimiter), in this process: only one serve runs on the embedded
// store (LockServe), so no other process sends. rps 0 means no limit.
type SiteLimiter struct {
	gap  time.Duration
	mu   sync.Mutex
	next map[string]time.Time // the earliest start of each site's next request
}

func NewSiteLimiter(rps float64) *SiteLimiter {
	l := &SiteLimiter{next: map[string]time.Time{}}
	if rps > 0 {
		l.gap = time.Duration(float64(time.Second) / rps)
	}
	return l
}

// Wait returns when a request to siteID may start, having booked its slot.
func (l *SiteLimiter) Wait(ctx context.Context, siteID string) error {
	if l.gap == 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next[siteID]
	if at.Before(now) {
		at = now
	}
	l.next[siteID] = at.Add(l.gap)
	l.mu.Unlock()
	if at.Equal(now) {
		return nil
	}
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
