package operations

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ctjournal/tests/harness"
	"ctjournal/tests/harness/loadgen"
)

// quarantineCase is a log record the projection cannot apply, written
// straight into the log between valid events.
type quarantineCase struct {
	what    string
	orderID string // the order it names, when that can be read
	payload string
}

// The promise of the quarantine, end to end: damaged records written
// straight into the log between valid events — in the same transaction,
// so the projection meets them in one batch — are set aside with their
// errors; the valid orders around them are decided and delivered exactly
// as if the damaged records were not there, within seconds; serve stays
// ready and says how many it set aside; the explanation of an order shows
// its record set aside; `ctjournal quarantine` lists them; a retry of a
// record still damaged leaves it aside; a rebuild finishes with them set
// aside and every decision as it was. The failing records never make the
// projection log more than a line a second.
func TestQuarantine_DamagedRecordsAreSetAsideAndTheRestIsDecided(t *testing.T) {
	t.Parallel()
	e := harness.Start(t, harness.WithEnv("CTJ_ADMIN_TOKEN", "admin-token-quarantine"))
	const w = "qa-w"
	e.PutPolicy(w, harness.PolicyFor(e.Fake, nil))
	e.MustPost(harness.Ordered("qa-1", w, nil), harness.Answered("qa-1", w, 1))

	year0 := map[string]any{"occurred_at": "0000-01-01T00:00:00Z"}
	callback := map[string]any{"kind": "callback", "client_phone": "79161234567"}
	damaged := []quarantineCase{
		{what: "broken JSON (in a JSON string)", payload: `"{\"type\": \"call.ordered\", \"order_id\": \"qa-json\""`},
		{what: "a field of the wrong type", orderID: "qa-bad-type",
			payload: harness.CanonicalEnvelope(t, "call.dialed", "qa-bad-type", w, map[string]any{"attempt": "one"}, nil)},
		{what: "occurred_at in year 0", orderID: "qa-bad-year0",
			payload: harness.CanonicalEnvelope(t, "call.ordered", "qa-bad-year0", w, callback, year0)},
		{what: "a call.answered in year 0 of a valid order", orderID: "qa-4",
			payload: harness.CanonicalEnvelope(t, "call.answered", "qa-4", w, map[string]any{"attempt": 1}, year0)},
		{what: "scheduled_at in year 0", orderID: "qa-bad-sched",
			payload: harness.CanonicalEnvelope(t, "call.ordered", "qa-bad-sched", w, harness.Merge(callback, map[string]any{"scheduled_at": "0000-06-01T00:00:00Z"}), nil)},
		{what: "an unknown event type", orderID: "qa-bad-unknown",
			payload: harness.CanonicalEnvelope(t, "call.transferred", "qa-bad-unknown", w, map[string]any{"attempt": 1}, nil)},
		{what: "a JSON array", payload: `[{"type": "call.ordered", "order_id": "qa-array"}]`},
	}
	// One transaction: valid orders qa-2…qa-5 and qa-ctl (ordered only,
	// as qa-4 is without its damaged answer), the damaged records between.
	var payloads []string
	valid := func(order string, withAnswer bool) {
		_, evs := loadgen.CanonicalEvents(order, w)
		if !withAnswer {
			evs = evs[:1]
		}
		payloads = append(payloads, evs...)
	}
	valid("qa-2", true)
	payloads = append(payloads, damaged[0].payload, damaged[1].payload)
	valid("qa-3", true)
	payloads = append(payloads, damaged[2].payload)
	valid("qa-4", false)
	payloads = append(payloads, damaged[3].payload, damaged[4].payload, damaged[5].payload)
	valid("qa-5", true)
	payloads = append(payloads, damaged[6].payload)
	valid("qa-ctl", false)

	db := e.OpenDB(t)
	written := time.Now()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range []string{"qa-2", "qa-3", "qa-4", "qa-5", "qa-ctl", "qa-bad-type", "qa-bad-year0", "qa-bad-sched", "qa-bad-unknown"} {
		if _, err := tx.Exec(`INSERT INTO ctj_order_widgets (order_id, widget_id) VALUES ($1, $2)`, order, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range payloads {
		if _, err := tx.Exec(`INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
			VALUES (gen_random_uuid()::text, $1, '{}', pg_current_xact_id())`, p); err != nil {
			t.Fatalf("write into the log: %v\n%s", err, p)
		}
	}
	if _, err := tx.Exec(`SELECT pg_notify('ctj_log', '')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e.MustPost(harness.Ordered("qa-6", w, nil), harness.Answered("qa-6", w, 1))

	sent := []string{"qa-1~1", "qa-2~1", "qa-3~1", "qa-5~1", "qa-6~1"}
	for _, key := range sent {
		e.WaitForLead(key, "delivered")
	}
	settled := time.Since(written)
	perKey := loadgen.RequestsPerKey(e.Fake.Requests())
	for _, key := range sent {
		if k := perKey[key]; k == nil || len(k.Accepted) != 1 {
			t.Errorf("lead %s: accepted %+v, want exactly once", key, k)
		}
	}
	if len(perKey) != len(sent) {
		t.Errorf("Calltouch got leads %v, want only %v", mapsKeys(perKey), sent)
	}
	ctl, four := e.MustOrder("qa-ctl"), e.MustOrder("qa-4")
	if fmt.Sprint(decisionSummary(four)) != fmt.Sprint(decisionSummary(ctl)) {
		t.Errorf("qa-4, whose only answer is set aside, decided %v; qa-ctl, never answered, %v", decisionSummary(four), decisionSummary(ctl))
	}

	// Listed, with the orders they name.
	stdout, stderr, code := e.CLI("quarantine", "--json")
	if code != 0 {
		t.Fatalf("ctjournal quarantine --json: exit %d\n%s", code, stderr)
	}
	var listed []harness.ListedRecord
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil {
		t.Fatalf("ctjournal quarantine --json: %v\n%s", err, stdout)
	}
	var listedOrders, wantOrders []string
	for _, l := range listed {
		listedOrders = append(listedOrders, fmt.Sprint(harness.Deref(l.OrderID)))
		if l.Error == "" || l.QuarantinedAt.IsZero() || l.Position <= 0 {
			t.Errorf("listed without position, error or time: %+v", l)
		}
	}
	for _, d := range damaged {
		wantOrders = append(wantOrders, fmt.Sprint(map[bool]any{true: nil, false: d.orderID}[d.orderID == ""]))
	}
	if !slices.Equal(listedOrders, wantOrders) {
		t.Fatalf("ctjournal quarantine lists orders %v, want %v (log order)", listedOrders, wantOrders)
	}
	if stdout, _, code := e.CLI("quarantine"); code != 0 || !strings.Contains(stdout, "POSITION") || !strings.Contains(stdout, "out of range") {
		t.Errorf("ctjournal quarantine: exit %d\n%s", code, stdout)
	}

	// Ready, counted, explained.
	harness.Eventually(t, "/readyz and /metrics counting the records set aside", func() (bool, string) {
		status, body := e.Readyz()
		m, err := e.Metrics()
		if err != nil {
			return false, err.Error()
		}
		want := fmt.Sprintf(`{"quarantined":%d,"status":"ready"}`, len(damaged))
		return status == http.StatusOK && body == want && m["ctj_projection_quarantined_records"] == float64(len(damaged)),
			fmt.Sprintf("/readyz %d %s; ctj_projection_quarantined_records %v", status, body, m["ctj_projection_quarantined_records"])
	})
	status, body := e.Do(http.MethodGet, "/v1/status", "", nil)
	var st struct {
		Projection struct {
			BehindRecords int64 `json:"behind_records"`
			HeldBackBy    any   `json:"held_back_by"`
		} `json:"projection"`
		QuarantinedRecords int64            `json:"quarantined_records"`
		DeliveryQueue      map[string]int64 `json:"delivery_queue"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &st) != nil || st.QuarantinedRecords != int64(len(damaged)) ||
		st.DeliveryQueue["delivered"] != int64(len(sent)) {
		t.Errorf("GET /v1/status: %d %s", status, body)
	}
	if s, _, _ := e.Send(http.MethodGet, "/v1/status", "", nil, "Authorization", ""); s != http.StatusUnauthorized {
		t.Errorf("GET /v1/status without the admin token: %d, want 401", s)
	}
	x := e.MustOrder("qa-4")
	if i := slices.IndexFunc(x.Events, func(ev harness.LogEvent) bool { return ev.Type == "call.answered" }); i < 0 ||
		x.Events[i].Note == nil || !strings.Contains(*x.Events[i].Note, "set aside") {
		t.Errorf("qa-4's explanation does not show its answer set aside: %+v", x.Events)
	}
	status, body = e.Do(http.MethodGet, "/v1/orders/qa-bad-type", "", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"quarantined":[{"position":`) {
		t.Errorf("GET /v1/orders/qa-bad-type: %d %s, want an entry set aside", status, body)
	}
	if out, _, code := e.CLI("explain", "qa-bad-year0"); code != 0 || !strings.Contains(out, "set aside") {
		t.Errorf("ctjournal explain qa-bad-year0: exit %d\n%s", code, out)
	}

	// A retry of a record still damaged leaves it aside.
	year0Pos := listed[slices.IndexFunc(listed, func(l harness.ListedRecord) bool {
		return l.OrderID != nil && *l.OrderID == "qa-bad-year0"
	})].Position
	stdout, stderr, code = e.CLI("quarantine", "retry", strconv.FormatInt(year0Pos, 10))
	if code != 1 || !strings.Contains(stdout, "still set aside") || !strings.Contains(stderr, "1 of 1 records still set aside") {
		t.Errorf("ctjournal quarantine retry %d: exit %d\n%s%s", year0Pos, code, stdout, stderr)
	}
	if _, _, code := e.CLI("quarantine", "retry"); code != 2 {
		t.Errorf("ctjournal quarantine retry without positions: exit %d, want 2", code)
	}

	// A rebuild sets the same records aside and finishes.
	before := map[string]harness.Explanation{}
	for _, o := range []string{"qa-1", "qa-2", "qa-3", "qa-4", "qa-5", "qa-6", "qa-ctl"} {
		before[o] = e.MustOrder(o)
	}
	_, stderr, code = e.CLI("rebuild")
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("set aside %d log records", len(damaged))) {
		t.Fatalf("ctjournal rebuild: exit %d\n%s", code, stderr)
	}
	for o, x := range before {
		if after := e.MustOrder(o); fmt.Sprint(decisionSummary(after)) != fmt.Sprint(decisionSummary(x)) || len(after.Events) != len(x.Events) {
			t.Errorf("order %s after the rebuild: %+v, before: %+v", o, after, x)
		}
	}
	if status, body := e.Readyz(); status != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`"quarantined":%d`, len(damaged))) {
		t.Errorf("/readyz after the rebuild: %d %s", status, body)
	}

	// At most one error line a second from the projection while it dealt
	// with them.
	lines := 0
	for _, line := range strings.Split(e.Logs(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, `"part":"projection"`) {
			lines++
		}
	}
	if limit := int(math.Ceil(time.Since(written).Seconds())) + 1; lines > limit {
		t.Errorf("the projection logged %d error lines in %s, more than one a second", lines, time.Since(written).Round(time.Second))
	}
	t.Logf("%d records set aside, valid orders delivered %s after the write; %d projection error lines", len(damaged),
		settled.Round(10*time.Millisecond), lines)
}

// decisionSummary is an order's decisions without times and keys: what
// was decided and why.
func decisionSummary(x harness.Explanation) []string {
	var out []string
	for _, d := range x.Decisions {
		out = append(out, fmt.Sprintf("%v %s %s %s", harness.Deref(d.Attempt), d.Decision, d.Status, strings.ReplaceAll(d.Reason, x.OrderID, "ORDER")))
	}
	return out
}

func mapsKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
