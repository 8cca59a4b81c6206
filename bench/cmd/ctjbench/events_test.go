package main

import (
	"encoding/json"
	"strings"
	"testing"

	"ctjournal/wire"
)

func TestOrders_StreamsAreValidDistinctEvents(t *testing.T) {
	o := newOrders("t1", ingestWidget)
	events := o.stream(0, 450)
	events = append(events, o.stream(100_000, 9)...)
	ord, ans := o.leadPair(7)
	events = append(events, ord, ans)

	if err := withCanonical(events); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.id] {
			t.Fatalf("event id %s repeated", e.id)
		}
		seen[e.id] = true
	}
	if _, err := wire.ParseBatch(batchBody(events)); err != nil {
		t.Errorf("a batch of generated events is refused: %v", err)
	}
}

func TestOrders_LifecycleEndsEachOrder(t *testing.T) {
	o := newOrders("t2", bulkWidget)
	total := 0
	for n := range ordersPerBulkBatch {
		total += len(o.lifecycle(n))
	}
	if total != bulkBatchEvents {
		t.Errorf("a bulk batch has %d events, want %d", total, bulkBatchEvents)
	}
	var first struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(o.lifecycle(3)[0].envelope, &first); err != nil || first.Type != "call.ordered" {
		t.Errorf("an order starts with %q (%v), want call.ordered", first.Type, err)
	}
	if !strings.HasSuffix(leadKey(o.orderID(5)), "-5~1") {
		t.Errorf("lead key %q", leadKey(o.orderID(5)))
	}
}
