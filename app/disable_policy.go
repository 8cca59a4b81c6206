package app

import (
	"context"

	"ctjournal/domain"
)

// DisablePolicy turns a widget's integration off as a new policy version;
// leads already decided "send" are still delivered.
type DisablePolicy struct{ store PolicyStore }

func NewDisablePolicy(store PolicyStore) DisablePolicy { return DisablePolicy{store: store} }

// Handle returns ErrNotFound for a widget that never had a policy.
func (h DisablePolicy) Handle(ctx context.Context, widgetID string) (StoredPolicy, error) {
	return h.store.UpdatePolicy(ctx, widgetID, func(current *StoredPolicy) (domain.Policy, error) {
		if current == nil {
			return domain.Policy{}, ErrNotFound
		}
		p := current.Policy
		p.Enabled = false
		return p, nil
	})
}
