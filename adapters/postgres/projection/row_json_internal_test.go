package projection

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"ctjournal/domain"
)

// The hand-written rows read back as encoding/json's: same keys, same
// values, nulls where pointers are nil, awkward strings escaped.
func TestRowJSON_ReadsBackAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 24, 7, 15, 0, 123456789, time.FixedZone("MSK", 3*3600))
	odd := "quote \" backslash \\ tab \t newline \n nul \x00 bell \x07 <&> юникод \xff end"
	n, yes, key, claimer := 3, true, domain.LeadKey("k-1"), "worker"
	payload := &domain.Payload{PhoneNumber: "+7 900", RequestNumber: "r-1", Comment: odd, SessionID: "s"}
	check := func(name string, got []byte, want any) {
		t.Helper()
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var g, e any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %s does not parse: %v", name, got, err)
		}
		if err := json.Unmarshal(w, &e); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, e) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, w)
		}
	}
	for _, full := range []bool{false, true} {
		p := []policyRow{{WidgetID: odd, Version: 2, Policy: json.RawMessage(`{"a":[1,"b"]}`), TokenMasked: "ab…", Position: 7, RecordedAt: at}}
		check("policies", appendRows(nil, p, (*policyRow).appendJSON), p)
		o := []orderRow{{OrderID: odd, WidgetID: "w", FirstPosition: 1, LastPosition: 1 << 40}}
		e := []eventRow{{Position: 9, EventID: "e", OrderID: "o", WidgetID: "w", Type: "order_created", OccurredAt: at,
			RecordedAt: at.UTC(), TransactionID: 1<<63 + 5}}
		d := []decisionRow{{OrderID: "o", WidgetID: "w", Attempt: 1, Decision: domain.Send, Reason: odd,
			Warnings: []string{}, DecidedAt: at, DecidedBy: "e", Status: "pending"}}
		l := []deliveryRow{{Key: key, OrderID: "o", WidgetID: "w", Payload: *payload, DecidedAt: at, DeadlineAt: at}}
		h := []leadEventRow{{Position: 4, Key: key, Try: 2, At: at, DurationMS: 15, Response: odd, Outcome: "sent"}}
		if full {
			o[0].PolicyVersion, o[0].Placed, o[0].Kind, o[0].HasSessionID, o[0].OrderedAt, o[0].ScheduledAt = &n, true, &odd, &yes, &at, &at
			e[0].Attempt, e[0].Note = &n, &odd
			d[0].Key, d[0].Warnings, d[0].PolicyVersion, d[0].Payload = &key, []string{odd, "b"}, &n, payload
			l[0].ClaimedBy, l[0].ClaimedUntil = &claimer, &at
			h[0].HTTPStatus, h[0].Error = &n, &odd
			o, e = append(o, o[0]), append(e, e[0])
		}
		check("orders", appendRows(nil, o, (*orderRow).appendJSON), o)
		check("events", appendRows(nil, e, (*eventRow).appendJSON), e)
		dj, err := appendRowsErr(nil, d, (*decisionRow).appendJSON)
		if err != nil {
			t.Fatal(err)
		}
		check("decisions", dj, d)
		lj, err := appendRowsErr(nil, l, (*deliveryRow).appendJSON)
		if err != nil {
			t.Fatal(err)
		}
		check("leads", lj, l)
		check("history", appendRows(nil, h, (*leadEventRow).appendJSON), h)
	}
	check("no rows", appendRows(nil, []eventRow{}, (*eventRow).appendJSON), []eventRow{})
}
