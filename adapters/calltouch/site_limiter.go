package calltouch

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// SiteLimiter spaces requests to each Calltouch site to at most rps a
// second (CTJ_CALLTOUCH_RPS) within this process; 0 means no limit.
type SiteLimiter struct {
	rps   float64
	mu    sync.Mutex
	sites map[string]*rate.Limiter
}

func NewSiteLimiter(rps float64) *SiteLimiter {
	return &SiteLimiter{rps: rps, sites: map[string]*rate.Limiter{}}
}

// Wait blocks until the site may get one more request, or ctx ends.
func (l *SiteLimiter) Wait(ctx context.Context, siteID string) error {
	if l.rps <= 0 {
		return nil
	}
	l.mu.Lock()
	lim, ok := l.sites[siteID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.rps), 1)
		l.sites[siteID] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}
