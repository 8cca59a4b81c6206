package ordercache

import "ctjournal/domain"

// Policies are the placements of the policy versions folded so far, by
// widget: the one in force and every version, for orders read back.
type Policies struct {
	widgets map[string]*widgetPolicies
}

type widgetPolicies struct {
	latest   domain.Placement
	versions map[int]domain.Placement
}

// NewPolicies makes an empty set of policies.
func NewPolicies() *Policies { return &Policies{widgets: map[string]*widgetPolicies{}} }

// Known reports whether the widget's version was recorded: as ON CONFLICT
// DO NOTHING, the first record of a version stands.
func (p *Policies) Known(widgetID string, version int) bool {
	_, known := p.widget(widgetID).versions[version]
	return known
}

// Add records a version's placement; the highest version is in force.
func (p *Policies) Add(widgetID string, version int, placement domain.Placement) {
	w := p.widget(widgetID)
	w.versions[version] = placement
	if version > w.latest.Version {
		w.latest = placement
	}
}

// InForce is the widget's latest placement, or none.
func (p *Policies) InForce(widgetID string) domain.Placement {
	if w := p.widgets[widgetID]; w != nil {
		return w.latest
	}
	return domain.Placement{}
}

// Placement is the policy version an order read back was placed under.
func (p *Policies) Placement(widgetID string, version int) domain.Placement {
	if w := p.widgets[widgetID]; w != nil && version > 0 {
		if pl, ok := w.versions[version]; ok {
			return pl
		}
	}
	return domain.Placement{}
}

func (p *Policies) widget(widgetID string) *widgetPolicies {
	w := p.widgets[widgetID]
	if w == nil {
		w = &widgetPolicies{versions: map[int]domain.Placement{}}
		p.widgets[widgetID] = w
	}
	return w
}
