package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"ctjournal/app"
)

// RunLeadListing checks Queries.Leads: newest decisions first, pages that
// join up without a gap or a repeat even where many decisions share one
// decided_at, and the widget, status and time filters.
func RunLeadListing(t *testing.T, newEngine func(t *testing.T, giveUpAfter time.Duration) Engine) {
	parallel(t, func(t *testing.T) Engine { return newEngine(t, giveUpAfter) }, []check[Engine]{
		{"PagesJoinUpWithoutGapOrRepeat", listPages},
		{"FiltersByWidgetStatusAndTime", listFilters},
	})
}

func leads(t *testing.T, e Engine, f app.LeadFilter) app.LeadPage {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 100
	}
	page, err := e.Queries.Leads(context.Background(), f)
	if err != nil {
		t.Fatalf("leads %+v: %v", f, err)
	}
	return page
}

func rowID(l app.LeadRow) string {
	attempt := 0
	if l.Attempt != nil {
		attempt = *l.Attempt
	}
	return fmt.Sprintf("%s/%d", l.OrderID, attempt)
}

func rowIDs(rows []app.LeadRow) []string {
	ids := make([]string, len(rows))
	for i, l := range rows {
		ids[i] = rowID(l)
	}
	return ids
}

// listPages decides 18 orders in one append (one decision time in a store
// that stamps a transaction once) and 7 orders of two attempts in another.
func listPages(t *testing.T, e Engine) {
	setPolicy(t, e, "w-1", ValidPolicy())
	var first, second []string
	var batch []app.NewEvent
	for i := range 18 {
		o := fmt.Sprintf("o-a-%02d", i)
		batch = append(batch, Batch(t, Ordered(o, "w-1"), Answered(o, "w-1", 1))...)
		first = append(first, o+"/1")
	}
	for i := range batch {
		batch[i].Index = i
	}
	if _, err := e.Log.Append(context.Background(), batch); err != nil {
		t.Fatalf("append: %v", err)
	}
	for i := range 7 {
		o := fmt.Sprintf("o-b-%02d", i)
		ingest(t, e, Ordered(o, "w-1"), Failed(o, "w-1", 1), Answered(o, "w-1", 2))
		second = append(second, o+"/1", o+"/2")
	}
	e.Settle(t)

	all := leads(t, e, app.LeadFilter{Limit: 1000})
	if all.NextCursor != nil {
		t.Fatalf("one page of 1000 has a next cursor")
	}
	want := append(slices.Clone(first), second...)
	if got := rowIDs(all.Leads); !sameSet(got, want) {
		t.Fatalf("listing has %v, want %v", got, want)
	}
	for i := 1; i < len(all.Leads); i++ {
		if all.Leads[i].DecidedAt.After(all.Leads[i-1].DecidedAt) {
			t.Fatalf("listing not newest first: %s (%s) after %s (%s)", rowID(all.Leads[i]), all.Leads[i].DecidedAt,
				rowID(all.Leads[i-1]), all.Leads[i-1].DecidedAt)
		}
	}

	for _, limit := range []int{1, 4, 5, 32} {
		var paged []string
		f := app.LeadFilter{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page := leads(t, e, f)
			if len(page.Leads) > limit || (page.NextCursor != nil && len(page.Leads) != limit) {
				t.Fatalf("limit %d: page of %d rows, next cursor %v", limit, len(page.Leads), page.NextCursor != nil)
			}
			paged = append(paged, rowIDs(page.Leads)...)
			if page.NextCursor == nil {
				break
			}
			f.Cursor = *page.NextCursor
		}
		if !slices.Equal(paged, rowIDs(all.Leads)) {
			t.Fatalf("limit %d: pages give\n%v\nwant\n%v", limit, paged, rowIDs(all.Leads))
		}
	}
}

func listFilters(t *testing.T, e Engine) {
	setPolicy(t, e, "w-1", ValidPolicy())
	ingest(t, e, Ordered("o-1", "w-1"), Answered("o-1", "w-1", 1), Ordered("o-2", "w-2"), Answered("o-2", "w-2", 1))
	e.Settle(t)
	ingest(t, e, Ordered("o-3", "w-1"), Failed("o-3", "w-1", 1))
	e.Settle(t)
	now := later().Truncate(time.Second)
	l := claimKey(t, e, "worker-a", now, "o-1~1")
	if err := e.Queue.RecordTry(context.Background(), "worker-a", tried(l, 200, now), now); err != nil {
		t.Fatalf("record try: %v", err)
	}
	e.Settle(t)

	all := leads(t, e, app.LeadFilter{})
	decided := map[string]time.Time{}
	for _, row := range all.Leads {
		decided[row.OrderID] = row.DecidedAt
	}
	if !decided["o-3"].After(decided["o-1"]) {
		t.Fatalf("o-3 decided at %s, not after o-1 at %s", decided["o-3"], decided["o-1"])
	}
	mid := decided["o-1"].Add(decided["o-3"].Sub(decided["o-1"]) / 2)
	for _, c := range []struct {
		name   string
		filter app.LeadFilter
		want   []string
	}{
		{"widget", app.LeadFilter{WidgetID: "w-2"}, []string{"o-2/1"}},
		{"skipped", app.LeadFilter{Status: app.StatusSkipped}, []string{"o-2/1"}},
		{"delivered", app.LeadFilter{Status: app.StatusDelivered}, []string{"o-1/1"}},
		{"pending", app.LeadFilter{Status: app.StatusPending}, []string{"o-3/1"}},
		{"since", app.LeadFilter{Since: &mid}, []string{"o-3/1"}},
		{"until", app.LeadFilter{Until: &mid}, []string{"o-1/1", "o-2/1"}},
		{"widget until", app.LeadFilter{WidgetID: "w-1", Until: &mid}, []string{"o-1/1"}},
		{"none", app.LeadFilter{WidgetID: "w-1", Status: app.StatusSkipped}, nil},
	} {
		page := leads(t, e, c.filter)
		if got := rowIDs(page.Leads); !sameSet(got, c.want) || page.NextCursor != nil {
			t.Errorf("%s: listing %v (next cursor %v), want %v", c.name, got, page.NextCursor != nil, c.want)
		}
	}

	byOrder := map[string]app.LeadRow{}
	for _, row := range leads(t, e, app.LeadFilter{}).Leads {
		byOrder[row.OrderID] = row
	}
	if r := byOrder["o-1"]; r.Key == nil || *r.Key != "o-1~1" || r.Decision != "send" || r.DeliveredAt == nil || !r.DeliveredAt.Equal(now) {
		t.Errorf("delivered lead row %+v, want key o-1~1 delivered at %s", r, now)
	}
	if r := byOrder["o-2"]; r.Key != nil || r.Decision != "skip" || r.Reason == "" || r.DeliveredAt != nil {
		t.Errorf("skipped lead row %+v, want no key, a reason, not delivered", r)
	}
	noToken(t, "the lead listing", all)
}

func sameSet(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}
