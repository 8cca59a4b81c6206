package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"ctjournal/app"
	"ctjournal/domain"
)

// RunPolicyStore checks an app.PolicyStore: versions 1, 2, 3… per widget
// with no gap or repeat even under concurrent updates, update sees the
// current policy, a refused update stores nothing, the token is kept, and an
// unknown widget is app.ErrNotFound.
func RunPolicyStore(t *testing.T, newStore func(t *testing.T) app.PolicyStore) {
	parallel(t, newStore, []check[app.PolicyStore]{
		{"FirstUpdateIsVersionOne", policyFirstVersion},
		{"EachUpdateSeesTheCurrentAndStoresTheNext", policyNextVersions},
		{"UnknownWidgetIsNotFound", policyUnknownWidget},
		{"RefusedUpdateStoresNothing", policyRefusedUpdate},
		{"WidgetsAreVersionedApart", policyWidgetsApart},
		{"ConcurrentUpdatesGetVersionsWithoutGapOrRepeat", policyConcurrentUpdates},
	})
}

func set(p domain.Policy) func(*app.StoredPolicy) (domain.Policy, error) {
	return func(*app.StoredPolicy) (domain.Policy, error) { return p, nil }
}

func policyFirstVersion(t *testing.T, store app.PolicyStore) {
	ctx := context.Background()
	want := ValidPolicy()
	stored, err := store.UpdatePolicy(ctx, "w-1", func(current *app.StoredPolicy) (domain.Policy, error) {
		if current != nil {
			t.Errorf("update saw %+v for a widget that never had a policy, want nil", *current)
		}
		return want, nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if stored.WidgetID != "w-1" || stored.Version != 1 || stored.Policy != want || stored.UpdatedAt.IsZero() {
		t.Fatalf("update stored %+v, want widget w-1, version 1, %+v and a time", stored, want)
	}
	got, err := store.Policy(ctx, "w-1")
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	if got.Version != 1 || got.Policy != want || got.Policy.Token != Token {
		t.Fatalf("policy is %+v, want version 1, %+v (token kept)", got, want)
	}
}

func policyNextVersions(t *testing.T, store app.PolicyStore) {
	ctx := context.Background()
	prev := ValidPolicy()
	if _, err := store.UpdatePolicy(ctx, "w-1", set(prev)); err != nil {
		t.Fatalf("update 1: %v", err)
	}
	for version := 2; version <= 4; version++ {
		next := prev
		next.SiteID = fmt.Sprintf("site-%d", version)
		stored, err := store.UpdatePolicy(ctx, "w-1", func(current *app.StoredPolicy) (domain.Policy, error) {
			if current == nil || current.Version != version-1 || current.Policy != prev {
				t.Errorf("update %d saw %+v, want version %d with %+v", version, current, version-1, prev)
			}
			return next, nil
		})
		if err != nil {
			t.Fatalf("update %d: %v", version, err)
		}
		if stored.Version != version || stored.Policy != next {
			t.Fatalf("update %d stored version %d %+v", version, stored.Version, stored.Policy)
		}
		prev = next
	}
	got, err := store.Policy(ctx, "w-1")
	if err != nil || got.Version != 4 || got.Policy != prev {
		t.Fatalf("policy is %+v, %v; want version 4 with %+v", got, err, prev)
	}
}

func policyUnknownWidget(t *testing.T, store app.PolicyStore) {
	if _, err := store.Policy(context.Background(), "w-never"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("policy of an unknown widget: got %v, want app.ErrNotFound", err)
	}
}

func policyRefusedUpdate(t *testing.T, store app.PolicyStore) {
	ctx := context.Background()
	refuse := func(*app.StoredPolicy) (domain.Policy, error) { return domain.Policy{}, app.ErrNotFound }
	if _, err := store.UpdatePolicy(ctx, "w-1", refuse); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("refused first update: got %v, want app.ErrNotFound", err)
	}
	if _, err := store.Policy(ctx, "w-1"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("after a refused first update: got %v, want app.ErrNotFound", err)
	}
	if _, err := store.UpdatePolicy(ctx, "w-1", set(ValidPolicy())); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := store.UpdatePolicy(ctx, "w-1", refuse); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("refused update: got %v, want app.ErrNotFound", err)
	}
	stored, err := store.UpdatePolicy(ctx, "w-1", set(ValidPolicy()))
	if err != nil || stored.Version != 2 {
		t.Fatalf("update after a refused one stored version %d, %v; want 2", stored.Version, err)
	}
}

func policyWidgetsApart(t *testing.T, store app.PolicyStore) {
	ctx := context.Background()
	for _, widget := range []string{"w-1", "w-1", "w-2", "w-1"} {
		if _, err := store.UpdatePolicy(ctx, widget, set(ValidPolicy())); err != nil {
			t.Fatalf("update %s: %v", widget, err)
		}
	}
	for widget, want := range map[string]int{"w-1": 3, "w-2": 1} {
		if got, err := store.Policy(ctx, widget); err != nil || got.Version != want {
			t.Errorf("widget %s is at version %d, %v; want %d", widget, got.Version, err, want)
		}
	}
}

func policyConcurrentUpdates(t *testing.T, store app.PolicyStore) {
	const writers = 20
	versions := make([]int, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			p := ValidPolicy()
			p.SiteID = fmt.Sprintf("site-%d", i)
			seen := 0
			stored, err := store.UpdatePolicy(context.Background(), "w-1", func(current *app.StoredPolicy) (domain.Policy, error) {
				if current != nil {
					seen = current.Version
				}
				return p, nil
			})
			if err == nil && stored.Version != seen+1 {
				err = fmt.Errorf("stored version %d after seeing version %d", stored.Version, seen)
			}
			versions[i], errs[i] = stored.Version, err
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent updates: %v", err)
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions handed out: %v, want 1..%d each once", versions, writers)
		}
	}
	if got, err := store.Policy(context.Background(), "w-1"); err != nil || got.Version != writers {
		t.Fatalf("policy is at version %d, %v; want %d", got.Version, err, writers)
	}
}
