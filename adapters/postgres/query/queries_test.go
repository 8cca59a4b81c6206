package query_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// One append is one transaction: all its decisions share one decided_at,
// and the cursor must still page through them without a gap or a repeat.
func TestLeads_PagesThroughDecisionsOfOneInstant(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	var events []domain.CallEvent
	for i := range 23 {
		o := fmt.Sprintf("o-%02d", i)
		events = append(events, storetest.Ordered(o, "w-1"), storetest.Failed(o, "w-1", 1), storetest.Answered(o, "w-1", 2))
	}
	testkit.Ingest(t, s, events...)
	testkit.Settle(t, s.DB)
	if n := testkit.Count(t, s.DB, `SELECT count(DISTINCT decided_at) FROM ctj_decisions`); n != 1 {
		t.Fatalf("decisions made at %d instants, want 1", n)
	}

	seen := map[string]bool{}
	var order []string
	f := app.LeadFilter{Limit: 7}
	for {
		page, err := s.Queries.Leads(context.Background(), f)
		if err != nil {
			t.Fatalf("leads: %v", err)
		}
		for _, l := range page.Leads {
			id := fmt.Sprintf("%s/%d", l.OrderID, *l.Attempt)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
			order = append(order, id)
		}
		if page.NextCursor == nil {
			break
		}
		f.Cursor = *page.NextCursor
	}
	if len(seen) != 46 {
		t.Fatalf("pages listed %d decisions, want 46", len(seen))
	}
	if order[0] != "o-22/2" || order[1] != "o-22/1" || order[45] != "o-00/1" {
		t.Fatalf("listing order %v, want order id then attempt, descending, on equal times", order)
	}
}

func TestLeads_RefusesACursorItDidNotHandOut(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	made := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	for _, cursor := range []string{
		"not-a-cursor",
		made(`{"t":"2026-11-24T07:15:00Z","o":"o-1\u0000","a":1}`),    // text the store cannot hold
		made(`{"t":"2026-11-24T07:15:00Z","o":"o-1","a":4294967296}`), // beyond the attempt's integer
		made(`{"t":"2026-11-24T07:15:00Z","o":"o~1","a":1}`),
	} {
		_, err := s.Queries.Leads(context.Background(), app.LeadFilter{Limit: 10, Cursor: cursor})
		var field *domain.FieldError
		if !errors.As(err, &field) || field.Field != "cursor" {
			t.Errorf("cursor %s: got %v, want a *domain.FieldError on cursor", cursor, err)
		}
	}
}
