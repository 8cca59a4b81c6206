package query_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/postgres/internal/testkit"
	"ctjournal/adapters/postgres/query"
	"ctjournal/app/storetest"
	"ctjournal/domain"
)

func TestPolicyVersions_NewestFirstWithoutTheToken(t *testing.T) {
	t.Parallel()
	s := testkit.NewStore(t)
	testkit.StartProjection(t, s.DB, time.Hour)
	testkit.SetValidPolicy(t, s, "w-1", nil)
	testkit.SetValidPolicy(t, s, "w-1", func(p *domain.Policy) { p.OnlySuccessful = true })
	testkit.SetValidPolicy(t, s, "w-1", func(p *domain.Policy) { p.Enabled = false })
	testkit.SetValidPolicy(t, s, "w-2", nil)
	testkit.Settle(t, s.DB)

	versions, err := query.NewPolicyVersions(s.DB).PolicyVersions(context.Background(), "w-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 {
		t.Fatalf("%d versions %+v, want 3", len(versions), versions)
	}
	for i, v := range versions {
		if v.Version != 3-i || v.WidgetID != "w-1" || v.Position <= 0 || v.RecordedAt.IsZero() {
			t.Errorf("version %d: %+v", i, v)
		}
		if v.Policy.Token != "" || !strings.HasPrefix(v.TokenMasked, "****") || strings.Contains(v.TokenMasked, storetest.Token) {
			t.Errorf("version %d shows the token: %q, masked %q", v.Version, v.Policy.Token, v.TokenMasked)
		}
	}
	if versions[0].Policy.Enabled || !versions[1].Policy.OnlySuccessful || versions[2].Policy.OnlySuccessful ||
		versions[2].Policy.SiteID != storetest.ValidPolicy().SiteID {
		t.Errorf("versions %+v, want each change as made", versions)
	}
	if none, err := query.NewPolicyVersions(s.DB).PolicyVersions(context.Background(), "nosuch"); err != nil || len(none) != 0 {
		t.Errorf("unknown widget: %+v, %v; want none", none, err)
	}
}
