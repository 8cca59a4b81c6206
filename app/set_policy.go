package app

import (
	"context"

	"ctjournal/domain"
)

// SetPolicy replaces a widget's whole Calltouch policy with a new version.
type SetPolicy struct{ store PolicyStore }

func NewSetPolicy(store PolicyStore) SetPolicy { return SetPolicy{store: store} }

// Handle stores p (already parsed and validated) as the widget's next version.
func (h SetPolicy) Handle(ctx context.Context, widgetID string, p domain.Policy) (StoredPolicy, error) {
	return h.store.UpdatePolicy(ctx, widgetID, func(*StoredPolicy) (domain.Policy, error) {
		return p, nil
	})
}
