package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// fakeRun is a RebuildRun over pages of records, recording what was called.
type fakeRun struct {
	pages    [][]app.LogRecord
	models   *countingModels
	sealed   bool
	swapped  bool
	discards int
	swapErr  error
	catchUp  []app.LogRecord
}

func (r *fakeRun) Total() int64 {
	n := 0
	for _, p := range r.pages {
		n += len(p)
	}
	return int64(n)
}
func (r *fakeRun) Models() app.ReadModel { return r.models }
func (r *fakeRun) NextPage(ctx context.Context) ([]app.LogRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(r.pages) == 0 {
		return nil, nil
	}
	p := r.pages[0]
	r.pages = r.pages[1:]
	return p, nil
}
func (r *fakeRun) Seal(context.Context) error { r.sealed = true; return nil }
func (r *fakeRun) SwapIn(ctx context.Context, apply func(context.Context, app.ReadModel, app.LogRecord) error) (int64, error) {
	if r.swapErr != nil {
		return 0, r.swapErr
	}
	for _, rec := range r.catchUp {
		if err := apply(ctx, r.models, rec); err != nil {
			return 0, err
		}
	}
	r.swapped = true
	return int64(len(r.catchUp)), nil
}
func (r *fakeRun) Discard(context.Context) error { r.discards++; return nil }
func (r *fakeRun) SetAside() int64               { return 0 }

type fakeStore struct{ run *fakeRun }

func (s fakeStore) StartRebuild(context.Context) (app.RebuildRun, error) { return s.run, nil }

// countingModels is a ReadModel that counts what it is asked to store.
type countingModels struct {
	policies, orders, tries int
}

func (m *countingModels) RecordPolicy(context.Context, app.PolicyChanged, int64, time.Time) error {
	m.policies++
	return nil
}
func (m *countingModels) PolicyInForce(context.Context, string) (domain.Placement, error) {
	return domain.Placement{}, nil
}
func (m *countingModels) UpdateOrder(_ context.Context, _ string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	m.orders++
	_, err := fold(domain.OrderState{})
	return err
}
func (m *countingModels) RecordTry(context.Context, app.DeliveryTried, int64) error {
	m.tries++
	return nil
}
func (m *countingModels) RecordGiveUp(context.Context, app.LeadGivenUp, int64) error { return nil }
func (m *countingModels) RecordRedelivery(context.Context, app.RedeliveryRequested, int64) error {
	return nil
}

type silentProgress struct{ advanced int }

func (p *silentProgress) Started(int64)  {}
func (p *silentProgress) Advanced(n int) { p.advanced += n }
func (p *silentProgress) Stage(string)   {}

func record(pos int64, payload string) app.LogRecord {
	return app.LogRecord{Position: pos, RecordedAt: time.Unix(pos, 0).UTC(), Payload: []byte(payload)}
}

const tried = `{"type":"delivery.tried","key":"o~1","order_id":"o","widget_id":"w","try":1,"outcome":"delivered"}`

func TestRebuild_FoldsEveryPageThenSwapsIn(t *testing.T) {
	run := &fakeRun{models: &countingModels{},
		pages:   [][]app.LogRecord{{record(1, `{"type":"policy.changed","widget_id":"w","version":1,"policy":{}}`), record(2, tried)}, {record(3, tried)}},
		catchUp: []app.LogRecord{record(4, tried)}}
	progress := &silentProgress{}
	res, err := app.NewRebuildReadModels(fakeStore{run}, time.Now).Handle(context.Background(), progress)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 4 || res.Skipped != 0 || progress.advanced != 3 {
		t.Fatalf("result %+v, progress %d: want 4 events, 3 of them in pages", res, progress.advanced)
	}
	if !run.sealed || !run.swapped || run.discards != 0 {
		t.Fatalf("sealed %v, swapped %v, discarded %d times", run.sealed, run.swapped, run.discards)
	}
	if run.models.policies != 1 || run.models.tries != 3 {
		t.Fatalf("models got %+v", run.models)
	}
}

func TestRebuild_SkipsMalformedRecordsAsTheProjectionDid(t *testing.T) {
	run := &fakeRun{models: &countingModels{}, pages: [][]app.LogRecord{{record(1, `not json`), record(2, `{"type":"what.ever"}`), record(3, tried)}}}
	res, err := app.NewRebuildReadModels(fakeStore{run}, time.Now).Handle(context.Background(), &silentProgress{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 1 || res.Skipped != 2 {
		t.Fatalf("result %+v: want 1 event folded, 2 skipped", res)
	}
}

func TestRebuild_InterruptedOrFailedDiscardsTheCopy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run := &fakeRun{models: &countingModels{}, pages: [][]app.LogRecord{{record(1, tried)}}}
	if _, err := app.NewRebuildReadModels(fakeStore{run}, time.Now).Handle(ctx, &silentProgress{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: %v", err)
	}
	if run.discards != 1 || run.swapped {
		t.Fatalf("interrupted: discarded %d times, swapped %v", run.discards, run.swapped)
	}

	failing := &fakeRun{models: &countingModels{}, swapErr: errors.New("lock timeout")}
	if _, err := app.NewRebuildReadModels(fakeStore{failing}, time.Now).Handle(context.Background(), &silentProgress{}); err == nil {
		t.Fatal("a failed swap reported success")
	}
	if failing.discards != 1 {
		t.Fatalf("failed swap: discarded %d times", failing.discards)
	}
}
