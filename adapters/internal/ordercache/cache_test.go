package ordercache_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"ctjournal/adapters/internal/ordercache"
	"ctjournal/app"
	"ctjournal/domain"
)

type lead struct{ tries int }

func touch(t *testing.T, c *ordercache.Cache[lead], id string, position int64, readBack func(context.Context, []string) error) {
	t.Helper()
	change, err := c.Update(context.Background(), id, func(s domain.OrderState) (*app.OrderChange, error) {
		return &app.OrderChange{State: s, Event: domain.LoggedEvent{Position: position}}, nil
	}, readBack)
	if err != nil || change == nil {
		t.Fatalf("update %s: %v, %v", id, change, err)
	}
}

func noReadBack(_ context.Context, ids []string) error {
	return fmt.Errorf("unexpected read back of %v", ids)
}

func TestEvictSendsTheLeastRecentlyTouchedQuarter(t *testing.T) {
	c := ordercache.New[lead](8)
	for i := range 8 {
		touch(t, c, fmt.Sprint("o", i), int64(i+1), noReadBack)
	}
	touch(t, c, "o0", 9, noReadBack) // o0 is now the most recent
	if c.Full() {
		t.Fatal("full at the bound")
	}
	touch(t, c, "o8", 10, noReadBack)
	if !c.Full() {
		t.Fatal("not full past the bound")
	}
	var sent []string
	if err := c.Evict(func(o *ordercache.Order[lead]) error {
		sent = append(sent, o.State.OrderID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(sent)
	if want := []string{"o1", "o2", "o3"}; !slices.Equal(sent, want) {
		t.Fatalf("sent %v, want %v", sent, want)
	}
	for _, id := range sent {
		if c.Get(id) != nil || !c.HasLeft(id) || !c.Missing(id) {
			t.Fatalf("%s still held or not marked as left", id)
		}
	}
	if c.HasLeft("o0") || c.Missing("o0") || c.Get("o0").First != 1 || c.Get("o0").Last != 9 {
		t.Fatalf("o0: %+v", c.Get("o0"))
	}
}

func TestUpdateReadsBackAnOrderThatLeft(t *testing.T) {
	c := ordercache.New[lead](0)
	touch(t, c, "a", 1, noReadBack)
	if err := c.Evict(func(*ordercache.Order[lead]) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !c.AnyLeft() || c.Get("a") != nil {
		t.Fatal("a did not leave")
	}
	var asked []string
	touch(t, c, "a", 2, func(_ context.Context, ids []string) error {
		asked = ids
		c.Hold("a", &ordercache.Order[lead]{State: domain.OrderState{OrderID: "a"}, First: 1, Last: 1,
			Leads: map[int]*lead{1: {tries: 2}}})
		return nil
	})
	o := c.Get("a")
	if !slices.Equal(asked, []string{"a"}) || o.First != 1 || o.Last != 2 || o.Leads[1].tries != 2 {
		t.Fatalf("asked %v, order %+v", asked, o)
	}
}

func TestPoliciesKeepTheFirstRecordOfAVersion(t *testing.T) {
	p := ordercache.NewPolicies()
	if p.Known("w", 1) || p.InForce("w") != (domain.Placement{}) {
		t.Fatal("empty policies know w")
	}
	first := domain.Placement{Version: 2}
	p.Add("w", 2, first)
	p.Add("w", 1, domain.Placement{Version: 1})
	if !p.Known("w", 2) || p.InForce("w") != first || p.Placement("w", 1).Version != 1 || p.Placement("w", 0) != (domain.Placement{}) {
		t.Fatalf("in force %+v", p.InForce("w"))
	}
}
