package app

import "context"

// GetPolicy returns the policy in force for a widget.
type GetPolicy struct{ store PolicyStore }

func NewGetPolicy(store PolicyStore) GetPolicy { return GetPolicy{store: store} }

// Handle returns ErrNotFound for a widget that never had a policy.
func (h GetPolicy) Handle(ctx context.Context, widgetID string) (StoredPolicy, error) {
	return h.store.Policy(ctx, widgetID)
}
