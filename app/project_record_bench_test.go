package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/wire"
)

// memoryModels keeps orders in a map, as the rebuild's bulk models do, so
// that the benchmark measures the projection's own work per record.
type memoryModels struct {
	countingModels
	placement domain.Placement
	states    map[string]domain.OrderState
}

func (m *memoryModels) PolicyInForce(context.Context, string) (domain.Placement, error) {
	return m.placement, nil
}

func (m *memoryModels) UpdateOrder(_ context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	change, err := fold(m.states[orderID])
	if err != nil || change == nil {
		return err
	}
	m.states[orderID] = change.State
	return nil
}

// callStream is a log of orders interleaved as a busy log holds them: each
// order placed, then dialed and failed twice, then answered on its third
// attempt and reported as the last.
func callStream(b *testing.B, orders int) []app.LogRecord {
	start := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	talk := 42
	var recs []app.LogRecord
	for step := range 8 {
		for o := range orders {
			e := domain.CallEvent{
				EventID:    fmt.Sprintf("%08x-2b1f-4d6e-9a51-%012x", step, o),
				OrderID:    fmt.Sprintf("ord-%d", o),
				WidgetID:   fmt.Sprintf("w-%d", o%10),
				OccurredAt: start.Add(time.Duration(step*orders+o) * time.Second),
			}
			switch step {
			case 0:
				e.Type = domain.CallOrdered
				e.Order = &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567", SessionID: "100007",
					FormName: "Обратный звонок", Details: map[string]string{"page": "/catalog/item-7", "utm_source": "yandex"}}
			case 1, 3, 5:
				e.Type, e.Attempt = domain.CallDialed, (step+1)/2
			case 2, 4:
				e.Type, e.Attempt, e.FailReason = domain.CallFailed, step/2, "no_answer"
			case 6:
				e.Type, e.Attempt, e.TalkSeconds = domain.CallAnswered, 3, &talk
			case 7:
				e.Type, e.Attempt = domain.CallLastAttempt, 3
			}
			payload, err := wire.MarshalEvent(e)
			if err != nil {
				b.Fatal(err)
			}
			pos := int64(len(recs) + 1)
			recs = append(recs, app.LogRecord{Position: pos, TransactionID: uint64(pos), RecordedAt: e.OccurredAt, Payload: payload})
		}
	}
	return recs
}

func BenchmarkProjectRecord(b *testing.B) {
	policy := domain.Policy{Enabled: true, SiteID: "12345", Server: "api.calltouch.ru", Hook: domain.HookAfterCall,
		SendFormName: true, SendOrderDate: true, CommentDetails: true}
	recs := callStream(b, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		models := &memoryModels{placement: domain.Placement{Version: 1, Policy: &policy}, states: map[string]domain.OrderState{}}
		project := app.NewProjectRecord(models, discardingOutbox{})
		for _, rec := range recs {
			if err := project.Handle(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

type discardingOutbox struct{}

func (discardingOutbox) Enqueue(context.Context, app.Lead) error { return nil }
