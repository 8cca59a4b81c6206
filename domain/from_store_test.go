package domain

import (
	"reflect"
	"testing"
)

// restore reads s back through OrderStateFromStore, as a store returns it.
func restore(s OrderState) (OrderState, error) {
	return OrderStateFromStore(s.OrderID, s.WidgetID, s.Placement, s.Events, s.Decisions)
}

func TestOrderStateFromStore_TakesWhatFoldBuilds(t *testing.T) {
	states := map[string]OrderState{}
	states["every attempt sent"], _ = foldAll(placement(3), nil, ordered(), dialed(1), failed(1), dialed(2), answered(2))
	states["one lead per order"], _ = foldAll(placement(2, onlyLast), nil, ordered(), failed(1), answered(2), failed(1))
	states["before_call"], _ = foldAll(placement(1, beforeCall), nil, ordered(deferred), answered(1))
	states["no policy"], _ = foldAll(noPolicy, nil, ordered(), answered(1))
	states["waiting for call.ordered"], _ = foldAll(placement(1), nil, failed(1), answered(2))
	states["empty"] = OrderState{OrderID: testOrder}
	for name, s := range states {
		got, err := restore(s)
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("%s: got %+v, %v; want the state itself", name, got, err)
		}
	}
}

func TestOrderStateFromStore_RefusesWhatFoldCannotBuild(t *testing.T) {
	base := func() OrderState {
		s, _ := foldAll(placement(3), nil, ordered(), dialed(1), failed(1), answered(2))
		return s
	}
	damage := map[string]func(*OrderState){
		"no order id":            func(s *OrderState) { s.OrderID = "" },
		"another widget":         func(s *OrderState) { s.WidgetID = "w-2" },
		"another order's fact":   func(s *OrderState) { s.Events[1].OrderID = "ord-2" },
		"attempt out of range":   func(s *OrderState) { s.Events[1].Attempt = MaxAttempt + 1 },
		"attempt 0 of a dial":    func(s *OrderState) { s.Events[1].Attempt = 0 },
		"unknown fact":           func(s *OrderState) { s.Events[1].Type = "call.transferred" },
		"ordered without data":   func(s *OrderState) { s.Events[0].Order = nil },
		"placed without ordered": func(s *OrderState) { s.Events = s.Events[1:] },
		"ordered but not placed": func(s *OrderState) { s.Placement = nil },
		"placement without policy": func(s *OrderState) {
			s.Placement = &Placement{Version: 3}
		},
		"policy without hook": func(s *OrderState) {
			p := *s.Placement.Policy
			p.Hook = ""
			s.Placement = &Placement{Version: 3, Policy: &p}
		},
		"decisions out of order": func(s *OrderState) { s.Decisions[0], s.Decisions[1] = s.Decisions[1], s.Decisions[0] },
		"unknown verdict":        func(s *OrderState) { s.Decisions[0].Verdict = "maybe" },
		"send without payload":   func(s *OrderState) { s.Decisions[0].Payload = nil },
		"skip with a lead":       func(s *OrderState) { s.Decisions[0].Verdict = Skip },
		"another order's key":    func(s *OrderState) { s.Decisions[0].Key = "ord-2~1" },
		"another attempt's key":  func(s *OrderState) { s.Decisions[0].Key = LeadKey(testOrder + "~2") },
		"another version":        func(s *OrderState) { s.Decisions[0].PolicyVersion = 2 },
		"decided by no fact":     func(s *OrderState) { s.Decisions[0].DecidedBy = "" },
		"one key sent twice": func(s *OrderState) {
			s.Decisions[0].Key, s.Decisions[1].Key = LeadKey(testOrder), LeadKey(testOrder)
		},
	}
	for name, damage := range damage {
		s := base()
		s.Events, s.Decisions = append([]LoggedEvent(nil), s.Events...), append([]Decision(nil), s.Decisions...)
		damage(&s)
		if got, err := restore(s); err == nil {
			t.Errorf("%s: got %+v, want an error", name, got)
		}
	}
	waiting, _ := foldAll(placement(1), nil, failed(1))
	waiting.Decisions[0].Verdict = Skip
	if _, err := restore(waiting); err == nil {
		t.Error("a skip before the order was placed: want an error")
	}
}

func TestPlacementFromStore(t *testing.T) {
	policy := placement(1).Policy
	for _, tt := range []struct {
		version int
		policy  *Policy
		ok      bool
	}{{0, nil, true}, {1, policy, true}, {-1, nil, false}, {0, policy, false}, {2, nil, false}} {
		got, err := PlacementFromStore(tt.version, tt.policy)
		if (err == nil) != tt.ok || (tt.ok && (got.Version != tt.version || got.Policy != tt.policy)) {
			t.Errorf("PlacementFromStore(%d, %v) = %+v, %v; want ok %v", tt.version, tt.policy, got, err, tt.ok)
		}
	}
}
