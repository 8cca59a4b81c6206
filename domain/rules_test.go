package domain

import (
	"reflect"
	"strings"
	"testing"
)

// lead is what a rule test expects of one decision.
type lead struct {
	attempt int
	verdict Verdict
	key     LeadKey
	reason  string
}

type ruleCase struct {
	name    string
	policy  Placement         // in force from the start
	changes map[int]Placement // a policy change taking force before events[i]
	events  []CallEvent       // in arrival (log) order
	leads   []lead            // every decision, in attempt order
	notes   map[string]string // event id → note; every other event has none
	// arrivalMatters marks a case whose outcome rests on log order (a policy
	// change, a conflict settled by the first recorded, rule 6's "second"
	// answered attempt), so permuting its facts may change it.
	arrivalMatters bool
}

const (
	noIntegration = "widget w-1 had no enabled Calltouch integration when the order was placed"
	tap2callOff   = "tap-to-call integration is off"
	waitOrdered   = "waiting for call.ordered"
)

// ruleExamples are the rows of docs/rules.md's Examples table, in its order.
var ruleExamples = []ruleCase{
	{
		name:   "no filter sends every finished attempt under its own key",
		policy: placement(1),
		events: []CallEvent{ordered(), dialed(1), failed(1), dialed(2), answered(2)},
		leads: []lead{
			{1, Send, "ord-1~1", "attempt 1 failed; every finished attempt is sent"},
			{2, Send, "ord-1~2", "attempt 2 answered; every finished attempt is sent"},
		},
	},
	{
		name:   "only_successful sends the answered attempt and skips the failed one",
		policy: placement(1, onlySuccessful),
		events: []CallEvent{ordered(), dialed(1), failed(1), dialed(2), answered(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 failed; only successful calls are sent"},
			{2, Send, "ord-1", "attempt 2 answered; only successful calls are sent"},
		},
	},
	{
		name:   "only_last_attempt skips an attempt followed by another and sends the answered one",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), dialed(1), failed(1), dialed(2), answered(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 is not the last attempt"},
			{2, Send, "ord-1", "attempt 2 is the last attempt and was answered"},
		},
	},
	{
		name:   "only_last_attempt sends a failed attempt reported as the last",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), failed(2), lastAttempt(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 is not the last attempt"},
			{2, Send, "ord-1", "attempt 2 is the last attempt and failed"},
		},
	},
	{
		name:   "both filters skip a failed last attempt",
		policy: placement(1, bothFilters),
		events: []CallEvent{ordered(), failed(1), failed(2), lastAttempt(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 is not the last attempt"},
			{2, Skip, "", "last attempt 2 failed; only successful calls are sent"},
		},
	},
	{
		name:   "only_last_attempt waits while a failed attempt may not be the last",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1)},
		leads:  []lead{{1, Wait, "", "waiting to learn whether attempt 1 is the last"}},
	},
	{
		name:   "only_last_attempt sends once a late call.ordered arrives",
		policy: placement(1, onlyLast),
		events: []CallEvent{lastAttempt(1), failed(1), ordered()},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and failed"}},
	},
	{
		name:   "no filter sends an attempt once a late call.ordered arrives",
		policy: placement(1),
		events: []CallEvent{answered(1), ordered()},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
	},
	{
		name:   "before_call sends a deferred order at once",
		policy: placement(1, beforeCall),
		events: []CallEvent{ordered(deferred)},
		leads:  []lead{{0, Send, "ord-1", "deferred order sent before its call (before_call)"}},
	},
	{
		name:   "after_call sends a deferred order after its call",
		policy: placement(1),
		events: []CallEvent{ordered(deferred), answered(1)},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
	},
	{
		name:   "before_call sends an order that is not deferred after its call",
		policy: placement(1, beforeCall),
		events: []CallEvent{ordered(), answered(1)},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
	},
	{
		name:   "tap-to-call order is skipped while tap2call is off",
		policy: placement(1),
		events: []CallEvent{ordered(tap2call), answered(1)},
		leads:  []lead{{1, Skip, "", tap2callOff}},
	},
	{
		name:   "order without a session id is still sent",
		policy: placement(1),
		events: []CallEvent{ordered(noSession), answered(1)},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
	},
	{
		name:           "order keeps the only_successful policy it was placed under",
		policy:         placement(1, onlySuccessful),
		changes:        map[int]Placement{1: placement(2)},
		events:         []CallEvent{ordered(), answered(1)},
		leads:          []lead{{1, Send, "ord-1", "attempt 1 answered; only successful calls are sent"}},
		arrivalMatters: true,
	},
	{
		name:           "order placed without a policy is skipped after the policy is enabled",
		policy:         noPolicy,
		changes:        map[int]Placement{1: placement(1)},
		events:         []CallEvent{ordered(), answered(1)},
		leads:          []lead{{1, Skip, "", noIntegration}},
		arrivalMatters: true,
	},
	{
		name:           "a failure after the answer of the same attempt is a conflict",
		policy:         placement(1),
		events:         []CallEvent{ordered(), answered(1), failed(1)},
		leads:          []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
		notes:          map[string]string{"call.failed-1": "conflict: attempt 1 already answered; this failure is ignored"},
		arrivalMatters: true,
	},
}

// ruleEdgeCases cover every rule, reason and note beyond the ruleExamples.
var ruleEdgeCases = []ruleCase{
	{
		name:   "an attempt waits for call.ordered",
		policy: placement(1),
		events: []CallEvent{dialed(1), answered(1)},
		leads:  []lead{{1, Wait, "", waitOrdered}},
	},
	{
		name:   "no policy skips an attempt that waited for call.ordered",
		policy: noPolicy,
		events: []CallEvent{failed(1), ordered()},
		leads:  []lead{{1, Skip, "", noIntegration}},
	},
	{
		name:   "disabled policy skips every finished attempt",
		policy: placement(3, disabled),
		events: []CallEvent{ordered(), failed(1), answered(2)},
		leads:  []lead{{1, Skip, "", noIntegration}, {2, Skip, "", noIntegration}},
	},
	{
		name:   "disabled before_call policy decides nothing at order time and skips the attempts",
		policy: placement(3, disabled, beforeCall),
		events: []CallEvent{ordered(deferred), answered(1)},
		leads:  []lead{{1, Skip, "", noIntegration}},
	},
	{
		name:   "disabled before_call policy: each finished attempt is skipped, before call.ordered or after",
		policy: placement(3, disabled, beforeCall),
		events: []CallEvent{failed(1), ordered(deferred), dialed(2), answered(2)},
		leads:  []lead{{1, Skip, "", noIntegration}, {2, Skip, "", noIntegration}},
	},
	{
		name:   "no policy: a deferred order's finished attempts are each skipped",
		policy: noPolicy,
		events: []CallEvent{ordered(deferred), failed(1), answered(2)},
		leads:  []lead{{1, Skip, "", noIntegration}, {2, Skip, "", noIntegration}},
	},
	{
		name:   "tap-to-call order follows the rules while tap2call is on",
		policy: placement(1, tap2callOn, onlySuccessful),
		events: []CallEvent{ordered(tap2call), failed(1), answered(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 failed; only successful calls are sent"},
			{2, Send, "ord-1", "attempt 2 answered; only successful calls are sent"},
		},
	},
	{
		name:   "tap2call off skips a deferred before_call order at order time and each finished attempt",
		policy: placement(1, beforeCall),
		events: []CallEvent{failed(1), ordered(deferred, tap2call), dialed(2), answered(2)},
		leads:  []lead{{0, Skip, "", tap2callOff}, {1, Skip, "", tap2callOff}, {2, Skip, "", tap2callOff}},
		notes:  map[string]string{"call.dialed-2": "late: the order was already decided at order time (skip)"},
	},
	{
		name:   "before_call deferred order: a finished attempt adds a skip, other later facts are late",
		policy: placement(1, beforeCall),
		events: []CallEvent{ordered(deferred), dialed(1), answered(1), lastAttempt(1)},
		leads: []lead{
			{0, Send, "ord-1", "deferred order sent before its call (before_call)"},
			{1, Skip, "", "order already has a lead"},
		},
		notes: map[string]string{
			"call.dialed-1":       "late: lead ord-1 was already sent at order time",
			"call.last_attempt-1": "late: lead ord-1 was already sent at order time",
		},
	},
	{
		name:   "before_call deferred order: every finished attempt is skipped, before call.ordered or after",
		policy: placement(1, beforeCall),
		events: []CallEvent{failed(1), ordered(deferred), failed(2), answered(3)},
		leads: []lead{
			{0, Send, "ord-1", "deferred order sent before its call (before_call)"},
			{1, Skip, "", "order already has a lead"},
			{2, Skip, "", "order already has a lead"},
			{3, Skip, "", "order already has a lead"},
		},
	},
	{
		name:   "before_call deferred order: an attempt that waited for call.ordered gets no lead",
		policy: placement(1, beforeCall),
		events: []CallEvent{answered(1), ordered(deferred)},
		leads: []lead{
			{0, Send, "ord-1", "deferred order sent before its call (before_call)"},
			{1, Skip, "", "order already has a lead"},
		},
	},
	{
		name:   "only_successful skips the second answered attempt in log order, even a lower one",
		policy: placement(1, onlySuccessful),
		events: []CallEvent{ordered(), answered(2), answered(1)},
		leads: []lead{
			{1, Skip, "", "order already has a lead"},
			{2, Send, "ord-1", "attempt 2 answered; only successful calls are sent"},
		},
		arrivalMatters: true,
	},
	{
		name:   "only_successful gives the lead to the lowest attempt when both become decidable at once",
		policy: placement(1, onlySuccessful),
		events: []CallEvent{answered(2), answered(1), ordered()},
		leads: []lead{
			{1, Send, "ord-1", "attempt 1 answered; only successful calls are sent"},
			{2, Skip, "", "order already has a lead"},
		},
		arrivalMatters: true,
	},
	{
		name:   "only_successful: an answer waiting for call.ordered comes before one recorded after it",
		policy: placement(1, onlySuccessful),
		events: []CallEvent{answered(3), ordered(), answered(2)},
		leads: []lead{
			{2, Skip, "", "order already has a lead"},
			{3, Send, "ord-1", "attempt 3 answered; only successful calls are sent"},
		},
		arrivalMatters: true,
	},
	{
		name:   "only_last_attempt: a later dialed attempt turns a wait into a skip",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), dialed(2)},
		leads:  []lead{{1, Skip, "", "attempt 1 is not the last attempt"}},
	},
	{
		name:   "only_last_attempt: the last attempt named makes an earlier one non-final",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), lastAttempt(2)},
		leads:  []lead{{1, Skip, "", "attempt 1 is not the last attempt"}},
	},
	{
		name:   "only_last_attempt: an answered attempt is final without last_attempt",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), answered(1)},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and was answered"}},
	},
	{
		name:   "only_last_attempt: facts about attempts after an answered one are conflicts",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), answered(1), failed(2), lastAttempt(2)},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and was answered"}},
		notes: map[string]string{
			"call.failed-2":       "conflict: attempt 1 was answered, so no attempt follows it; this call.failed of attempt 2 is ignored",
			"call.last_attempt-2": "conflict: attempt 1 was answered, so no attempt follows it; this call.last_attempt of attempt 2 is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "no filter: facts about attempts after an answered one are conflicts and add no lead",
		policy: placement(1),
		events: []CallEvent{ordered(), answered(1), dialed(2), failed(2)},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
		notes: map[string]string{
			"call.dialed-2": "conflict: attempt 1 was answered, so no attempt follows it; this call.dialed of attempt 2 is ignored",
			"call.failed-2": "conflict: attempt 1 was answered, so no attempt follows it; this call.failed of attempt 2 is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "only_last_attempt: facts about attempts after the reported last one are conflicts",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), lastAttempt(1), answered(2)},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and failed"}},
		notes: map[string]string{
			"call.answered-2": "conflict: attempt 1 was reported as the last attempt, so no attempt follows it; this call.answered of attempt 2 is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "only_last_attempt: a last attempt below an attempt already named is a conflict",
		policy: placement(1, onlyLast),
		events: []CallEvent{dialed(2), failed(1), lastAttempt(1), ordered()},
		leads:  []lead{{1, Skip, "", "attempt 1 is not the last attempt"}},
		notes: map[string]string{
			"call.last_attempt-1": "conflict: attempt 2 was already named, so attempt 1 is not the last; this one is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "only_last_attempt: an answer after a higher attempt was named is not the last attempt",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), dialed(2), answered(1), lastAttempt(1)},
		leads:  []lead{{1, Skip, "", "attempt 1 is not the last attempt"}},
		notes: map[string]string{
			"call.last_attempt-1": "conflict: attempt 2 was already named, so attempt 1 is not the last; this one is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "both filters: an answer after a higher attempt was named is not the last attempt",
		policy: placement(1, bothFilters),
		events: []CallEvent{ordered(), failed(2), answered(1)},
		leads: []lead{
			{1, Skip, "", "attempt 1 is not the last attempt"},
			{2, Wait, "", "waiting to learn whether attempt 2 is the last"},
		},
		arrivalMatters: true,
	},
	{
		name:   "no filter: an answer after a higher attempt was named still finishes its attempt as answered",
		policy: placement(1),
		events: []CallEvent{ordered(), failed(2), answered(1)},
		leads: []lead{
			{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"},
			{2, Send, "ord-1~2", "attempt 2 failed; every finished attempt is sent"},
		},
		arrivalMatters: true,
	},
	{
		name:   "both filters wait, then skip a failed attempt reported as the last",
		policy: placement(1, bothFilters),
		events: []CallEvent{ordered(), failed(1), lastAttempt(1)},
		leads:  []lead{{1, Skip, "", "last attempt 1 failed; only successful calls are sent"}},
	},
	{
		name:   "both filters wait, then send an answered later attempt",
		policy: placement(1, bothFilters),
		events: []CallEvent{ordered(), failed(1), answered(2)},
		leads: []lead{
			{1, Skip, "", "attempt 1 is not the last attempt"},
			{2, Send, "ord-1", "attempt 2 is the last attempt and was answered"},
		},
	},
	{
		name:   "both filters wait while a failed attempt may not be the last",
		policy: placement(1, bothFilters),
		events: []CallEvent{ordered(), failed(1)},
		leads:  []lead{{1, Wait, "", "waiting to learn whether attempt 1 is the last"}},
	},
	{
		name:   "decisions are kept in attempt order whatever the arrival order",
		policy: placement(1),
		events: []CallEvent{ordered(), failed(3), failed(1), failed(2)},
		leads: []lead{
			{1, Send, "ord-1~1", "attempt 1 failed; every finished attempt is sent"},
			{2, Send, "ord-1~2", "attempt 2 failed; every finished attempt is sent"},
			{3, Send, "ord-1~3", "attempt 3 failed; every finished attempt is sent"},
		},
	},
	{
		name:           "an answer after a failure of the same attempt is a conflict",
		policy:         placement(1),
		events:         []CallEvent{ordered(), failed(1), answered(1)},
		leads:          []lead{{1, Send, "ord-1~1", "attempt 1 failed; every finished attempt is sent"}},
		notes:          map[string]string{"call.answered-1": "conflict: attempt 1 already failed; this answer is ignored"},
		arrivalMatters: true,
	},
	{
		name:   "a second answer of one attempt is a conflict",
		policy: placement(1),
		events: []CallEvent{ordered(), answered(1), withID(answered(1), "answered-again")},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
		notes:  map[string]string{"answered-again": "conflict: attempt 1 already answered; this answer is ignored"},
	},
	{
		name:   "a second failure of one attempt is a conflict",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), withID(failed(1), "failed-again")},
		leads:  []lead{{1, Wait, "", "waiting to learn whether attempt 1 is the last"}},
		notes:  map[string]string{"failed-again": "conflict: attempt 1 already failed; this failure is ignored"},
	},
	{
		name:           "a second call.ordered is a conflict and tells nothing",
		policy:         placement(1),
		events:         []CallEvent{ordered(), withID(ordered(tap2call), "ordered-again"), answered(1)},
		leads:          []lead{{1, Send, "ord-1~1", "attempt 1 answered; every finished attempt is sent"}},
		notes:          map[string]string{"ordered-again": "conflict: the order was already placed by event call.ordered-0; this one is ignored"},
		arrivalMatters: true,
	},
	{
		name:   "a second last attempt with another number is a conflict and names no later attempt",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), lastAttempt(1), lastAttempt(2), failed(1)},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and failed"}},
		notes: map[string]string{
			"call.last_attempt-2": "conflict: attempt 1 was reported as the last attempt, so no attempt follows it; this call.last_attempt of attempt 2 is ignored",
		},
		arrivalMatters: true,
	},
	{
		name:   "the same last attempt reported twice is no conflict",
		policy: placement(1, onlyLast),
		events: []CallEvent{ordered(), failed(1), lastAttempt(1), withID(lastAttempt(1), "last-again")},
		leads:  []lead{{1, Send, "ord-1", "attempt 1 is the last attempt and failed"}},
		notes:  map[string]string{"last-again": "late: attempt 1 was already decided (send ord-1)"},
	},
	{
		name:   "a last_attempt after its attempt was sent is late",
		policy: placement(1),
		events: []CallEvent{ordered(), failed(1), lastAttempt(1)},
		leads:  []lead{{1, Send, "ord-1~1", "attempt 1 failed; every finished attempt is sent"}},
		notes:  map[string]string{"call.last_attempt-1": "late: attempt 1 was already decided (send ord-1~1)"},
	},
	{
		name:   "a dialed after its attempt was skipped is late",
		policy: placement(1, onlySuccessful),
		events: []CallEvent{ordered(), failed(1), dialed(1)},
		leads:  []lead{{1, Skip, "", "attempt 1 failed; only successful calls are sent"}},
		notes:  map[string]string{"call.dialed-1": "late: attempt 1 was already decided (skip)"},
	},
}

func TestRules(t *testing.T) {
	for _, tables := range [][]ruleCase{ruleExamples, ruleEdgeCases} {
		for _, c := range tables {
			t.Run(c.name, func(t *testing.T) {
				s, _ := foldAll(c.policy, c.changes, c.events...)
				if got := leadsOf(s); !reflect.DeepEqual(got, c.leads) {
					t.Errorf("decisions\n got %+v\nwant %+v", got, c.leads)
				}
				for _, e := range s.Events {
					if e.Note != c.notes[e.EventID] {
						t.Errorf("note of %s = %q, want %q", e.EventID, e.Note, c.notes[e.EventID])
					}
				}
			})
		}
	}
}

func leadsOf(s OrderState) []lead {
	var out []lead
	for _, d := range s.Decisions {
		out = append(out, lead{d.Attempt, d.Verdict, d.Key, d.Reason})
	}
	return out
}

func TestSend_WithoutSessionIDCarriesTheWarning(t *testing.T) {
	s, _ := foldAll(placement(1), nil, ordered(noSession), answered(1))
	d, _ := decisionOf(s, 1)
	if !reflect.DeepEqual(d.Warnings, []string{WarningNoSession}) {
		t.Errorf("warnings = %q, want the no-session warning", d.Warnings)
	}
	if form := d.Payload.Form(); strings.Contains(form, "sessionId") {
		t.Errorf("payload = %s, want no sessionId", form)
	}
}

func TestSend_WithSessionIDCarriesItAndNoWarning(t *testing.T) {
	s, _ := foldAll(placement(1), nil, ordered(), answered(1))
	d, _ := decisionOf(s, 1)
	if d.Warnings != nil || d.Payload.SessionID != "ct-session-1" {
		t.Errorf("warnings = %q, session id = %q", d.Warnings, d.Payload.SessionID)
	}
}

func TestSkipAndWait_CarryNoPayloadOrWarning(t *testing.T) {
	s, _ := foldAll(placement(1, onlyLast), nil, ordered(noSession), failed(1), failed(2))
	for _, d := range s.Decisions {
		if d.Payload != nil || d.Warnings != nil || d.Key != "" {
			t.Errorf("%s on attempt %d carries key %q, payload %v, warnings %q", d.Verdict, d.Attempt, d.Key, d.Payload, d.Warnings)
		}
	}
}

func TestTap2Call_SendsTheManagerPhone(t *testing.T) {
	s, _ := foldAll(placement(1, tap2callOn), nil, ordered(tap2call), answered(1))
	d, _ := decisionOf(s, 1)
	if d.Payload.PhoneNumber != "74951234567" {
		t.Errorf("phone = %q, want the manager's", d.Payload.PhoneNumber)
	}
}

func TestCallback_SendsTheClientPhone(t *testing.T) {
	s, _ := foldAll(placement(1), nil, ordered(), answered(1))
	d, _ := decisionOf(s, 1)
	if d.Payload.PhoneNumber != "79161234567" {
		t.Errorf("phone = %q, want the client's", d.Payload.PhoneNumber)
	}
}

func TestBeforeCall_DeferredLeadCarriesNoOutcome(t *testing.T) {
	s, _ := foldAll(placement(1, beforeCall, commentDetails), nil, ordered(deferred))
	d, _ := decisionOf(s, 0)
	want := "CallKeeper\nТип: обратный звонок\nОтложен на: 25.11.2026 10:00"
	if d.Payload.Comment != want {
		t.Errorf("comment = %q, want %q", d.Payload.Comment, want)
	}
}

func TestOrderKeepsItsPlacement_PolicyChangeAppliesToLaterOrders(t *testing.T) {
	v1, v2 := placement(1, onlySuccessful), placement(2)
	first, _ := OrderState{}.Fold(loggedAt(forOrder("ord-1", ordered()), 1), v1)
	second, _ := OrderState{}.Fold(loggedAt(forOrder("ord-2", ordered()), 2), v2)
	first, _ = first.Fold(loggedAt(forOrder("ord-1", failed(1)), 3), v2)
	first, _ = first.Fold(loggedAt(forOrder("ord-1", answered(2)), 4), v2)
	second, _ = second.Fold(loggedAt(forOrder("ord-2", failed(1)), 5), v1)

	if got := leadsOf(first); !reflect.DeepEqual(got, []lead{
		{1, Skip, "", "attempt 1 failed; only successful calls are sent"},
		{2, Send, "ord-1", "attempt 2 answered; only successful calls are sent"},
	}) {
		t.Errorf("order placed under v1: %+v", got)
	}
	if got := leadsOf(second); !reflect.DeepEqual(got, []lead{
		{1, Send, "ord-2~1", "attempt 1 failed; every finished attempt is sent"},
	}) {
		t.Errorf("order placed under v2: %+v", got)
	}
	for _, d := range first.Decisions {
		if d.PolicyVersion != 1 {
			t.Errorf("order placed under v1 decided attempt %d under version %d", d.Attempt, d.PolicyVersion)
		}
	}
	if d := second.Decisions[0]; d.PolicyVersion != 2 {
		t.Errorf("order placed under v2 decided under version %d", d.PolicyVersion)
	}
}
