package delivery

import (
	"context"
	"sync"

	"ctjournal/app"
)

// accessCache reads each widget's latest policy once per round: the access
// values are read at send time, and a round lasts well under a second.
type accessCache struct {
	policies app.PolicyStore
	mu       sync.Mutex
	byWidget map[string]app.StoredPolicy
}

func newAccessCache(policies app.PolicyStore) *accessCache {
	return &accessCache{policies: policies, byWidget: map[string]app.StoredPolicy{}}
}

func (c *accessCache) policy(ctx context.Context, widgetID string) (app.StoredPolicy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byWidget[widgetID]; ok {
		return p, nil
	}
	p, err := c.policies.Policy(ctx, widgetID)
	if err == nil {
		c.byWidget[widgetID] = p
	}
	return p, err
}
