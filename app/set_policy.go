package app

import (
	"context"

	"ctjournal/domain"
)

// SetPolicy replaces a widget's whole Calltouch policy with a new version.
type SetPolicy struct {
	store   PolicyStore
	allowed domain.HostAllowlist
}

// NewSetPolicy refuses policies whose server allowed does not list.
func NewSetPolicy(store PolicyStore, allowed domain.HostAllowlist) SetPolicy {
	return SetPolicy{store: store, allowed: allowed}
}

// Handle stores p (already parsed and validated) as the widget's next
// version, or refuses it (a *domain.FieldError for server) when its host
// is not allowed.
func (h SetPolicy) Handle(ctx context.Context, widgetID string, p domain.Policy) (StoredPolicy, error) {
	if err := h.allowed.Check(p.Server); err != nil {
		return StoredPolicy{}, err
	}
	return h.store.UpdatePolicy(ctx, widgetID, func(*StoredPolicy) (domain.Policy, error) {
		return p, nil
	})
}
