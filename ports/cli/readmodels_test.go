package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

type summaries struct {
	got app.WidgetFilter
	s   app.WidgetSummary
}

func (f *summaries) WidgetSummary(_ context.Context, filter app.WidgetFilter) (app.WidgetSummary, error) {
	f.got = filter
	if filter.WidgetID != f.s.WidgetID {
		return app.WidgetSummary{}, app.ErrNotFound
	}
	return f.s, nil
}

type history []app.HistoryOrder

func (h history) WidgetHistory(_ context.Context, _ app.HistoryFilter, each func(app.HistoryOrder) error) error {
	for _, o := range h {
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}

// runCLI runs one command against a.
func runCLI(t *testing.T, a app.Application, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, Env{Stdout: &out, Stderr: &errOut,
		Open: func(context.Context) (app.Application, func(), error) { return a, func() {}, nil }})
	return code, out.String(), errOut.String()
}

func TestExplainWidget_PrintsCountsByStatusAndSkipReasons(t *testing.T) {
	f := &summaries{s: app.WidgetSummary{WidgetID: "w-42", Orders: 7, Decisions: 12,
		ByStatus:    map[string]int64{"delivered": 5, "pending": 1, "failed": 1, "skipped": 4, "waiting": 1},
		SkipReasons: []app.ReasonCount{{Reason: "attempt 1 failed; only successful calls are sent", Count: 3}, {Reason: "tap-to-call integration is off", Count: 1}},
		WaitReasons: []app.ReasonCount{{Reason: "waiting for call.ordered", Count: 1}}}}
	a := app.Application{Queries: app.AppQueries{ExplainWidget: app.NewExplainWidget(f)}}

	code, out, errOut := runCLI(t, a, "explain", "--widget", "w-42", "--since", "2026-11-01", "--until", "2026-12-01T00:00:00+03:00")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if f.got.Since.Format(time.RFC3339) != "2026-11-01T00:00:00Z" || f.got.Until.Format(time.RFC3339) != "2026-11-30T21:00:00Z" {
		t.Fatalf("asked for %v – %v", f.got.Since, f.got.Until)
	}
	for _, want := range []string{
		"Widget w-42: decisions taken from 2026-11-01 00:00:00 UTC to 2026-11-30 21:00:00 UTC",
		"12 decisions on 7 orders",
		"  delivered   5  leads Calltouch accepted",
		"  skipped     4  not sent, by the rules",
		"   3  attempt 1 failed; only successful calls are sent",
		"Waiting, by reason\n   1  waiting for call.ordered",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, a, "explain", "--widget=w-42", "--json")
	var got app.WidgetSummary
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.ByStatus["skipped"] != 4 || len(got.SkipReasons) != 2 {
		t.Fatalf("--json: exit %d:\n%s", code, out)
	}

	if code, _, errOut := runCLI(t, a, "explain", "--widget", "nope"); code != 1 || !strings.Contains(errOut, "widget nope has no orders") {
		t.Fatalf("unknown widget: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, a, "explain", "--widget", "w-42", "--since", "yesterday"); code != 2 || !strings.Contains(errOut, "RFC 3339") {
		t.Fatalf("bad time: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, a, "explain", "ord-1", "--widget", "w-42"); code != 2 {
		t.Fatalf("order and widget together: exit %d", code)
	}
}

func TestSimulate_ReadsAPolicyFileAndPrintsChangedLeads(t *testing.T) {
	recorded := domain.Policy{Enabled: true, SiteID: "1", Server: "api.calltouch.ru", Token: "t-0123456789abcdef", Hook: domain.HookAfterCall}
	state := domain.OrderState{OrderID: "o-1"}
	var events []domain.LoggedEvent
	for i, e := range []domain.CallEvent{
		{EventID: "00000000-0000-4000-8000-000000000001", Type: domain.CallOrdered, OrderID: "o-1", WidgetID: "w",
			Order: &domain.OrderData{Kind: domain.KindCallback, ClientPhone: "79161234567"}},
		{EventID: "00000000-0000-4000-8000-000000000002", Type: domain.CallFailed, OrderID: "o-1", WidgetID: "w", Attempt: 1},
	} {
		logged := domain.LoggedEvent{CallEvent: e, Position: int64(i + 1)}
		state, _ = state.Fold(logged, domain.Placement{Version: 1, Policy: &recorded})
		events = append(events, logged)
	}
	a := app.Application{Queries: app.AppQueries{SimulatePolicy: app.NewSimulatePolicy(history{{
		OrderID: "o-1", WidgetID: "w", Events: events, Decisions: state.Decisions, Statuses: map[int]string{1: "delivered"}}})}}

	// A GET answer works as a policy file: version and masked token included.
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(`{"version": 4, "enabled": true, "site_id": "1", "server": "api.calltouch.ru",
		"token": "****cdef", "only_successful": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, a, "simulate", "--widget", "w", "--policy", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Leads removed (1)\n  order o-1, attempt 1\n",
		"recorded:  SEND lead o-1~1 (delivered) — attempt 1 failed; every finished attempt is sent",
		"simulated: SKIP — attempt 1 failed; only successful calls are sent",
		"Totals: 0 added, 1 removed, 0 changed, 0 unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, a, "simulate", "--widget", "w"); code != 2 || !strings.Contains(errOut, "--policy") {
		t.Fatalf("no policy: exit %d, %q", code, errOut)
	}
	if err := os.WriteFile(file, []byte(`{"site_id": "1", "server": "api.calltouch.ru", "hook": "before_call", "only_successful": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, a, "simulate", "--widget", "w", "--policy", file); code != 1 || !strings.Contains(errOut, "hook") {
		t.Fatalf("invalid policy: exit %d, %q", code, errOut)
	}
}

type rebuildStore struct{ run *rebuildRun }

func (s rebuildStore) StartRebuild(context.Context) (app.RebuildRun, error) { return s.run, nil }

// rebuildRun replays pages of delivery tries.
type rebuildRun struct{ pages int }

func (r *rebuildRun) Total() int64          { return 3000 }
func (r *rebuildRun) Models() app.ReadModel { return nil }
func (r *rebuildRun) NextPage(context.Context) ([]app.LogRecord, error) {
	if r.pages == 0 {
		return nil, nil
	}
	r.pages--
	time.Sleep(15 * time.Millisecond)
	return make([]app.LogRecord, 1000), nil
}
func (r *rebuildRun) Seal(context.Context) error { return nil }
func (r *rebuildRun) SwapIn(context.Context, func(context.Context, app.ReadModel, app.LogRecord) error) (int64, error) {
	return 0, nil
}
func (r *rebuildRun) Discard(context.Context) error { return nil }
func (r *rebuildRun) SetAside() int64               { return 0 }

func TestRebuild_PrintsProgressLinesAndTheRate(t *testing.T) {
	// The records are empty, hence malformed: skipped, as the projection did.
	a := app.Application{Commands: app.Commands{RebuildReadModels: app.NewRebuildReadModels(rebuildStore{&rebuildRun{pages: 3}}, time.Now)}}
	var out, errOut bytes.Buffer
	progress := newRebuildProgress(&errOut, 10*time.Millisecond)
	res, err := a.Commands.RebuildReadModels.Handle(context.Background(), progress)
	progress.Close()
	if err != nil || res.Skipped != 3000 {
		t.Fatalf("rebuild: %+v, %v", res, err)
	}
	if !regexp.MustCompile(`rebuild: \d+/3000 events \(\d+%\), \d+ events/s\n`).MatchString(errOut.String()) {
		t.Fatalf("no progress line:\n%s", errOut.String())
	}

	code, stdout, stderr := runCLI(t, app.Application{Commands: app.Commands{
		RebuildReadModels: app.NewRebuildReadModels(rebuildStore{&rebuildRun{pages: 1}}, time.Now)}}, "rebuild")
	out.WriteString(stdout)
	if code != 0 || !regexp.MustCompile(`^rebuilt 0 events in [0-9.]+m?s \(0 events/s\)\n$`).MatchString(out.String()) ||
		!strings.Contains(stderr, "set aside 1000 log records") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), stderr)
	}
}
