package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// Engine is a whole store with its projection running: what is written
// through Log, Policies and Queue reaches the read models behind Queries
// and, for leads decided "send", the queue.
type Engine struct {
	Log      app.EventLog
	Policies app.PolicyStore
	Queue    app.DeliveryQueue
	Queries  app.Queries
	// Quarantine holds the log records the projection set aside.
	Quarantine app.Quarantine
	// PolicyVersions and LeadsPerDay read a widget's history.
	PolicyVersions app.PolicyVersions
	LeadsPerDay    app.LeadsPerDay
	// Settle returns once everything stored so far has been projected.
	Settle func(t *testing.T)
}

// RunProjection checks the projection through the read models: one
// decision per deciding fact with its reason, a queued lead per "send", an
// order kept under the policy it was placed under, waits decided again,
// and the delivery history shown in the audit.
func RunProjection(t *testing.T, newEngine func(t *testing.T, giveUpAfter time.Duration) Engine) {
	parallel(t, func(t *testing.T) Engine { return newEngine(t, giveUpAfter) }, []check[Engine]{
		{"NoIntegrationSkipsEveryDecidingFact", projectNoIntegration},
		{"EveryFinishedAttemptIsDecidedAndQueuedOnce", projectEveryAttempt},
		{"OnlySuccessfulSkipsFailedAttempts", projectOnlySuccessful},
		{"OrderKeepsThePolicyItWasPlacedUnder", projectPolicyOfPlacement},
		{"WaitIsDecidedAgainWhenFinalityIsKnown", projectWaitDecidedAgain},
		{"ConflictingFactIsNotedAndChangesNothing", projectConflictNoted},
		{"DeliveryTriesShowInTheAudit", projectDeliveryTries},
		{"TokenInAnOldTryIsMaskedInTheAudit", projectOldTryMasked},
		{"GiveUpAndRedeliveryShowInTheAudit", projectGiveUpAndRedelivery},
		{"UnknownOrderIsNotFound", projectUnknownOrder},
	})
}

// ingest stores events as POST /v1/events does.
func ingest(t *testing.T, e Engine, events ...domain.CallEvent) {
	t.Helper()
	if _, err := app.NewIngestEvents(e.Log).Handle(context.Background(), events); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

func setPolicy(t *testing.T, e Engine, widgetID string, p domain.Policy) int {
	t.Helper()
	stored, err := app.NewSetPolicy(e.Policies, AllowedHosts()).Handle(context.Background(), widgetID, p)
	if err != nil {
		t.Fatalf("set policy of %s: %v", widgetID, err)
	}
	return stored.Version
}

func explain(t *testing.T, e Engine, orderID string) app.OrderExplanation {
	t.Helper()
	x, err := e.Queries.Explain(context.Background(), orderID)
	if err != nil {
		t.Fatalf("explain %s: %v", orderID, err)
	}
	return x
}

// verdict is what the checks compare of a decision.
type verdict struct {
	Attempt  int
	Decision string
	Key      string
	Reason   string
	Status   string
	Version  int
}

func verdicts(x app.OrderExplanation) []verdict {
	out := make([]verdict, len(x.Decisions))
	for i, d := range x.Decisions {
		v := verdict{Decision: d.Decision, Reason: d.Reason, Status: d.Status}
		if d.Attempt != nil {
			v.Attempt = *d.Attempt
		}
		if d.Key != nil {
			v.Key = *d.Key
		}
		if d.PolicyVersion != nil {
			v.Version = *d.PolicyVersion
		}
		out[i] = v
	}
	return out
}

func wantVerdicts(t *testing.T, x app.OrderExplanation, want ...verdict) {
	t.Helper()
	if got := verdicts(x); !slices.Equal(got, want) {
		t.Fatalf("order %s decisions:\n got %+v\nwant %+v", x.OrderID, got, want)
	}
}

// claimAll claims every due lead at now and returns them by key.
func claimAll(t *testing.T, e Engine, owner string, now time.Time) map[string]app.ClaimedLead {
	t.Helper()
	leads, err := e.Queue.Claim(context.Background(), owner, now, now.Add(time.Minute), 100)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	out := map[string]app.ClaimedLead{}
	for _, l := range leads {
		out[string(l.Key)] = l
	}
	return out
}

// claimKey claims at now and fails unless key is among the leads handed out.
func claimKey(t *testing.T, e Engine, owner string, now time.Time, key string) app.ClaimedLead {
	t.Helper()
	leads := claimAll(t, e, owner, now)
	l, ok := leads[key]
	if !ok {
		t.Fatalf("claim at %s handed out %d leads, not %s", now, len(leads), key)
	}
	return l
}

// later is a time after every decision the test made (the store stamps
// decisions with its own clock) and well before their give-up.
func later() time.Time { return time.Now().Add(time.Minute) }

func projectNoIntegration(t *testing.T, e Engine) {
	ingest(t, e, Ordered("o-1", "w-1"), Failed("o-1", "w-1", 1), Answered("o-1", "w-1", 2))
	e.Settle(t)
	reason := "widget w-1 had no enabled Calltouch integration when the order was placed"
	x := explain(t, e, "o-1")
	wantVerdicts(t, x,
		verdict{Attempt: 1, Decision: "skip", Reason: reason, Status: app.StatusSkipped},
		verdict{Attempt: 2, Decision: "skip", Reason: reason, Status: app.StatusSkipped})
	if x.PolicyVersion != nil || len(x.Events) != 3 {
		t.Fatalf("order placed under version %v with %d events, want none and 3", x.PolicyVersion, len(x.Events))
	}
	if leads := claimAll(t, e, "worker-a", later()); len(leads) != 0 {
		t.Fatalf("skipped order queued %d leads", len(leads))
	}
}

func projectEveryAttempt(t *testing.T, e Engine) {
	v := setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Dialed("o-1", "w-1", 1), Failed("o-1", "w-1", 1))
	ingest(t, e, Dialed("o-1", "w-1", 2), Answered("o-1", "w-1", 2))
	e.Settle(t)
	x := explain(t, e, "o-1")
	wantVerdicts(t, x,
		verdict{1, "send", "o-1~1", "attempt 1 failed; every finished attempt is sent", app.StatusPending, v},
		verdict{2, "send", "o-1~2", "attempt 2 answered; every finished attempt is sent", app.StatusPending, v})
	if x.PolicyVersion == nil || *x.PolicyVersion != v || x.WidgetID != "w-1" {
		t.Fatalf("order placed under %v for widget %s, want version %d, w-1", x.PolicyVersion, x.WidgetID, v)
	}
	noToken(t, "the audit", x)
	leads := claimAll(t, e, "worker-a", later())
	if len(leads) != 2 {
		t.Fatalf("queued %d leads, want o-1~1 and o-1~2", len(leads))
	}
	for _, d := range x.Decisions {
		var payload domain.Payload
		if err := json.Unmarshal(d.Payload, &payload); err != nil {
			t.Fatalf("payload of %s: %v", *d.Key, err)
		}
		l, ok := leads[*d.Key]
		if !ok || l.Payload != payload || payload.RequestNumber != *d.Key || payload.PhoneNumber != "79161234567" {
			t.Errorf("lead %s queued as %+v, decided with payload %+v", *d.Key, l, payload)
		}
		if l.OrderID != "o-1" || l.WidgetID != "w-1" || !l.DecidedAt.Equal(d.DecidedAt) {
			t.Errorf("lead %s queued for %s/%s decided %s, want o-1/w-1 decided %s", *d.Key, l.OrderID, l.WidgetID, l.DecidedAt, d.DecidedAt)
		}
	}
}

func projectOnlySuccessful(t *testing.T, e Engine) {
	p := ValidPolicy()
	p.OnlySuccessful = true
	v := setPolicy(t, e, "w-1", p)
	// Attempt 3 answered first: an answer after it finishes attempt 2 (an
	// answer before it would have made attempt 3 a conflict).
	ingest(t, e, Ordered("o-1", "w-1"), Failed("o-1", "w-1", 1), Answered("o-1", "w-1", 3), Answered("o-1", "w-1", 2))
	e.Settle(t)
	wantVerdicts(t, explain(t, e, "o-1"),
		verdict{1, "skip", "", "attempt 1 failed; only successful calls are sent", app.StatusSkipped, v},
		verdict{2, "skip", "", "order already has a lead", app.StatusSkipped, v},
		verdict{3, "send", "o-1", "attempt 3 answered; only successful calls are sent", app.StatusPending, v})
	if leads := claimAll(t, e, "worker-a", later()); len(leads) != 1 || leads["o-1"].Key != "o-1" {
		t.Fatalf("queued %v, want only o-1", leads)
	}
}

func projectPolicyOfPlacement(t *testing.T, e Engine) {
	first := ValidPolicy()
	first.OnlySuccessful = true
	v1 := setPolicy(t, e, "w-1", first)
	ingest(t, e, Ordered("o-before", "w-1"))
	v2 := setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-after", "w-1"))
	disabled := ValidPolicy()
	disabled.Enabled = false
	setPolicy(t, e, "w-1", disabled)
	ingest(t, e, Failed("o-before", "w-1", 1), Answered("o-before", "w-1", 2),
		Failed("o-after", "w-1", 1), Answered("o-after", "w-1", 2))
	e.Settle(t)
	wantVerdicts(t, explain(t, e, "o-before"),
		verdict{1, "skip", "", "attempt 1 failed; only successful calls are sent", app.StatusSkipped, v1},
		verdict{2, "send", "o-before", "attempt 2 answered; only successful calls are sent", app.StatusPending, v1})
	wantVerdicts(t, explain(t, e, "o-after"),
		verdict{1, "send", "o-after~1", "attempt 1 failed; every finished attempt is sent", app.StatusPending, v2},
		verdict{2, "send", "o-after~2", "attempt 2 answered; every finished attempt is sent", app.StatusPending, v2})
}

func projectWaitDecidedAgain(t *testing.T, e Engine) {
	p := ValidPolicy()
	p.OnlyLastAttempt = true
	v := setPolicy(t, e, "w-1", p)
	ingest(t, e, Ordered("o-1", "w-1"), Failed("o-1", "w-1", 1))
	e.Settle(t)
	wantVerdicts(t, explain(t, e, "o-1"),
		verdict{1, "wait", "", "waiting to learn whether attempt 1 is the last", app.StatusWaiting, v})
	ingest(t, e, LastAttempt("o-1", "w-1", 1))
	e.Settle(t)
	wantVerdicts(t, explain(t, e, "o-1"),
		verdict{1, "send", "o-1", "attempt 1 is the last attempt and failed", app.StatusPending, v})
}

func projectConflictNoted(t *testing.T, e Engine) {
	v := setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1))
	ingest(t, e, Failed("o-1", "w-1", 1))
	e.Settle(t)
	x := explain(t, e, "o-1")
	wantVerdicts(t, x, verdict{1, "send", "o-1~1", "attempt 1 answered; every finished attempt is sent", app.StatusPending, v})
	var types []string
	for i, ev := range x.Events {
		types = append(types, ev.Type)
		if i > 0 && ev.Position <= x.Events[i-1].Position {
			t.Errorf("events out of log order: %d after %d", ev.Position, x.Events[i-1].Position)
		}
	}
	if want := []string{"call.ordered", "call.answered", "call.failed"}; !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if x.Events[1].Note != nil || x.Events[2].Note == nil || *x.Events[2].Note == "" {
		t.Fatalf("notes %v and %v, want none on the answer and one on the conflicting failure", x.Events[1].Note, x.Events[2].Note)
	}
}

func projectDeliveryTries(t *testing.T, e Engine) {
	setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1))
	e.Settle(t)
	now := later().Truncate(time.Second)
	l := claimKey(t, e, "worker-a", now, "o-1~1")
	if err := e.Queue.RecordTry(context.Background(), "worker-a", tried(l, 503, now), now.Add(time.Second)); err != nil {
		t.Fatalf("record transient try: %v", err)
	}
	l = claimKey(t, e, "worker-a", now.Add(time.Second), "o-1~1")
	if err := e.Queue.RecordTry(context.Background(), "worker-a", tried(l, 200, now.Add(time.Second)), now.Add(time.Second)); err != nil {
		t.Fatalf("record delivered try: %v", err)
	}
	e.Settle(t)
	d := explain(t, e, "o-1").Decisions[0]
	if d.Status != app.StatusDelivered || d.DeliveredAt == nil || !d.DeliveredAt.Equal(now.Add(time.Second)) {
		t.Fatalf("lead is %s, delivered at %v; want delivered at %s", d.Status, d.DeliveredAt, now.Add(time.Second))
	}
	var statuses []int
	for _, try := range d.Tries {
		if try.HTTPStatus != nil {
			statuses = append(statuses, *try.HTTPStatus)
		}
	}
	if !slices.Equal(statuses, []int{503, 200}) || d.Tries[0].Outcome != string(domain.Transient) {
		t.Fatalf("tries %+v, want a transient 503 then 200", d.Tries)
	}
}

// projectOldTryMasked records a try that holds the token, as tries were
// recorded before they were masked: the audit masks it when read.
func projectOldTryMasked(t *testing.T, e Engine) {
	setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1))
	e.Settle(t)
	now := later().Truncate(time.Second)
	l := claimKey(t, e, "worker-a", now, "o-1~1")
	old := tried(l, 400, now)
	old.Response = `{"error":"bad token ` + Token + `"}`
	old.Error = "refused: " + url.QueryEscape(Token)
	if err := e.Queue.RecordTry(context.Background(), "worker-a", old, now); err != nil {
		t.Fatalf("record try: %v", err)
	}
	e.Settle(t)
	x, err := app.NewExplainOrder(e.Queries, e.Quarantine, e.Policies).Handle(context.Background(), "o-1")
	if err != nil {
		t.Fatalf("explain o-1: %v", err)
	}
	noToken(t, "the explanation", x)
	tries := x.Decisions[0].Tries
	masked := domain.MaskToken(Token)
	if len(tries) != 1 || tries[0].Response != `{"error":"bad token `+masked+`"}` ||
		tries[0].Error == nil || *tries[0].Error != "refused: "+masked {
		t.Fatalf("tries %+v, want the one try with the token masked as %s", tries, masked)
	}
}

func projectGiveUpAndRedelivery(t *testing.T, e Engine) {
	setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1))
	e.Settle(t)
	decided := explain(t, e, "o-1").Decisions[0].DecidedAt
	past := decided.Add(giveUpAfter + time.Minute)
	if n, err := e.Queue.GiveUpExpired(context.Background(), past); err != nil || n != 1 {
		t.Fatalf("give up: %d, %v; want 1", n, err)
	}
	e.Settle(t)
	if d := explain(t, e, "o-1").Decisions[0]; d.Status != app.StatusFailed || d.DeliveredAt != nil {
		t.Fatalf("given-up lead is %s, delivered at %v; want failed", d.Status, d.DeliveredAt)
	}
	if err := e.Queue.Redeliver(context.Background(), "o-1~1", past, past.Add(giveUpAfter)); err != nil {
		t.Fatalf("redeliver: %v", err)
	}
	e.Settle(t)
	if d := explain(t, e, "o-1").Decisions[0]; d.Status != app.StatusPending {
		t.Fatalf("redelivered lead is %s, want pending", d.Status)
	}
	claimKey(t, e, "worker-a", past, "o-1~1")
}

func projectUnknownOrder(t *testing.T, e Engine) {
	if _, err := e.Queries.Explain(context.Background(), "o-never"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("explain an unknown order: got %v, want app.ErrNotFound", err)
	}
}

// noToken fails if the token appears anywhere in v's JSON.
func noToken(t *testing.T, what string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %s: %v", what, err)
	}
	if strings.Contains(string(b), Token) {
		t.Fatalf("%s shows the token: %s", what, b)
	}
}
