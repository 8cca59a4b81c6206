package app

import (
	"encoding/json"
	"fmt"

	"ctjournal/domain"
)

// DecodePolicy reads the policy's JSON body, as a store keeps it, into
// s.Policy.
func (s *StoredPolicy) DecodePolicy(body []byte) error {
	if err := json.Unmarshal(body, &s.Policy); err != nil {
		return fmt.Errorf("decode policy of widget %s: %w", s.WidgetID, err)
	}
	return nil
}

// PlacementOf reads a policy version back from the JSON body the read
// model keeps of it.
func PlacementOf(widgetID string, version int, body []byte) (domain.Placement, error) {
	p := &domain.Policy{}
	if err := json.Unmarshal(body, p); err != nil {
		return domain.Placement{}, fmt.Errorf("decode policy of widget %s v%d: %w", widgetID, version, err)
	}
	placement, err := domain.PlacementFromStore(version, p)
	if err != nil {
		return domain.Placement{}, fmt.Errorf("policy of widget %s: %w", widgetID, err)
	}
	return placement, nil
}
