package eventlog_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/app"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

// tablesShowing lists the tables with a row whose text contains s.
func tablesShowing(t *testing.T, s testkit.Store, needle string) []string {
	t.Helper()
	var found []string
	for _, table := range testkit.Texts(t, s.DB, `SELECT quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`) {
		if testkit.Count(t, s.DB, `SELECT count(*) FROM `+table+` r WHERE strpos(r::text, $1) > 0`, needle) > 0 {
			found = append(found, table)
		}
	}
	return found
}

// The write side keeps the token to reach Calltouch; the log, the read
// models and the delivery queue never see it, only its masked form.
func TestPolicies_TokenIsKeptOnlyInTheWriteSidePolicy(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	ctx := context.Background()
	if _, err := app.NewSetPolicy(s.Policies, storetest.AllowedHosts()).Handle(ctx, "w-1", storetest.ValidPolicy()); err != nil {
		t.Fatalf("set policy: %v", err)
	}
	if _, err := app.NewDisablePolicy(s.Policies).Handle(ctx, "w-1"); err != nil {
		t.Fatalf("disable policy: %v", err)
	}
	if _, err := app.NewIngestEvents(s.Log).Handle(ctx, []domain.CallEvent{
		storetest.Ordered("o-1", "w-1"), storetest.Answered("o-1", "w-1", 1)}); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	testkit.Settle(t, s.DB)

	if got := tablesShowing(t, s, storetest.Token); !slices.Equal(got, []string{"ctj_widget_policies"}) {
		t.Fatalf("the token is in %v, want only ctj_widget_policies", got)
	}
	if got := testkit.Texts(t, s.DB, `SELECT policy->>'token' FROM ctj_widget_policies WHERE widget_id = 'w-1'`); !slices.Equal(got, []string{storetest.Token}) {
		t.Fatalf("write side keeps token %v", got)
	}
	masked := domain.MaskToken(storetest.Token)
	if got := testkit.Texts(t, s.DB, `SELECT (payload->>'version') || ':' || (payload->>'token_masked') FROM ctj_log
		WHERE payload->>'type' = 'policy.changed' ORDER BY transaction_id, "offset"`); !slices.Equal(got, []string{"1:" + masked, "2:" + masked}) {
		t.Fatalf("log keeps policy changes %v, want versions 1 and 2 with the token masked as %s", got, masked)
	}
	if n := testkit.Count(t, s.DB, `SELECT count(*) FROM ctj_policy_versions WHERE token_masked = $1`, masked); n != 2 {
		t.Fatalf("read model keeps %d masked versions, want 2", n)
	}
}

// Versions are numbered under a lock held to commit, so the log holds
// them in version order: the projection's "latest version" is the latest.
func TestPolicies_ConcurrentChangesReachTheLogInVersionOrder(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			p := storetest.ValidPolicy()
			p.SiteID = fmt.Sprintf("site-%d", i)
			if _, err := app.NewSetPolicy(s.Policies, storetest.AllowedHosts()).Handle(context.Background(), "w-1", p); err != nil {
				t.Errorf("set policy: %v", err)
			}
		})
	}
	wg.Wait()
	got := testkit.Texts(t, s.DB, `SELECT payload->>'version' FROM ctj_log WHERE payload->>'type' = 'policy.changed'
		ORDER BY transaction_id, "offset"`)
	want := make([]string, writers)
	for i := range want {
		want[i] = strconv.Itoa(i + 1)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("log holds versions %v, want %v", got, want)
	}
}
