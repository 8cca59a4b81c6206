package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
	"ctjournal/ports/console"
)

// now is the console's clock in these tests.
var now = time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)

// secretToken is the Calltouch token of the fake policy: no page may show it.
const secretToken = "ct-secret-token-0123456789"

// fakeStore answers every query the console makes from fixed data and
// records what it was asked.
type fakeStore struct {
	app.DeliveryQueue // only Redeliver is called

	mu           sync.Mutex
	orders       map[string]app.OrderExplanation
	page         app.LeadPage
	policies     map[string]app.StoredPolicy
	versions     map[string][]app.PolicyVersion
	summaries    map[string]app.WidgetSummary
	days         []app.DayCount
	aside        []app.QuarantinedRecord
	status       app.EngineStatus
	brokers      map[string]app.BrokerStatus // nil: no broker runs
	redeliverErr error

	askedOrders  []string
	leadFilters  []app.LeadFilter
	widgetFilter []app.WidgetFilter
	redelivered  []domain.LeadKey
}

func (f *fakeStore) Explain(_ context.Context, id string) (app.OrderExplanation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.askedOrders = append(f.askedOrders, id)
	x, ok := f.orders[id]
	if !ok {
		return x, app.ErrNotFound
	}
	return x, nil
}

func (f *fakeStore) Leads(_ context.Context, filter app.LeadFilter) (app.LeadPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leadFilters = append(f.leadFilters, filter)
	return f.page, nil
}

func (f *fakeStore) UpdatePolicy(context.Context, string, func(*app.StoredPolicy) (domain.Policy, error)) (app.StoredPolicy, error) {
	panic("the console never changes a policy")
}

func (f *fakeStore) Policy(_ context.Context, widgetID string) (app.StoredPolicy, error) {
	p, ok := f.policies[widgetID]
	if !ok {
		return p, app.ErrNotFound
	}
	return p, nil
}

func (f *fakeStore) PolicyVersions(_ context.Context, widgetID string) ([]app.PolicyVersion, error) {
	return f.versions[widgetID], nil
}

func (f *fakeStore) WidgetSummary(_ context.Context, filter app.WidgetFilter) (app.WidgetSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.widgetFilter = append(f.widgetFilter, filter)
	s, ok := f.summaries[filter.WidgetID]
	if !ok {
		return s, app.ErrNotFound
	}
	return s, nil
}

func (f *fakeStore) LeadsPerDay(context.Context, app.WidgetFilter) ([]app.DayCount, error) {
	return f.days, nil
}

func (f *fakeStore) Redeliver(_ context.Context, key domain.LeadKey, _, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.redeliverErr != nil {
		return f.redeliverErr
	}
	f.redelivered = append(f.redelivered, key)
	return nil
}

func (f *fakeStore) Quarantined(_ context.Context, orderID string) ([]app.QuarantinedRecord, error) {
	var out []app.QuarantinedRecord
	for _, r := range f.aside {
		if orderID == "" || r.OrderID == orderID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeStore) Count(context.Context) (int64, error) { return int64(len(f.aside)), nil }

func (f *fakeStore) Reapply(context.Context, []int64, func(context.Context, app.LogRecord) error) ([]app.ReapplyOutcome, error) {
	panic("the console never applies a record again")
}

func (f *fakeStore) Status(context.Context) (app.EngineStatus, error) { return f.status, nil }

func (f *fakeStore) application() app.Application {
	return app.Application{
		Commands: app.Commands{RedeliverLead: app.NewRedeliverLead(f, func() time.Time { return now }, time.Hour)},
		Queries: app.AppQueries{
			GetPolicy:          app.NewGetPolicy(f),
			ExplainOrder:       app.NewExplainOrder(f, f, f),
			ListLeads:          app.NewListLeads(f),
			ExplainWidget:      app.NewExplainWidget(f),
			ListPolicyVersions: app.NewListPolicyVersions(f),
			CountLeadsPerDay:   app.NewCountLeadsPerDay(f),
			ListQuarantined:    app.NewListQuarantined(f),
			GetStatus:          app.NewGetStatus(f),
		},
	}
}

// newFakeStore holds one order with a failed lead, a widget with two
// policy versions, and a page of leads.
func newFakeStore() *fakeStore {
	attempt, version, status := 1, 2, 422
	key := "ord-1~1"
	note := "attempt 1 failed: busy"
	errText := "calltouch refused the lead"
	x := app.OrderExplanation{
		OrderID: "ord-1", WidgetID: "w-1", PolicyVersion: &version,
		Events: []app.ExplainedEvent{
			{Position: 11, EventID: "e-1", Type: "call.ordered", OccurredAt: now.Add(-time.Hour), RecordedAt: now.Add(-time.Hour + time.Second)},
			{Position: 12, EventID: "e-2", Type: "call.failed", Attempt: &attempt, OccurredAt: now.Add(-50 * time.Minute), RecordedAt: now.Add(-50 * time.Minute), Note: &note},
		},
		Decisions: []app.ExplainedDecision{{
			Attempt: &attempt, Decision: "send", Key: &key, Reason: "attempt 1 failed and the policy sends every attempt",
			Warnings: []string{"no calltouch_session_id: Calltouch may not attribute the call"}, PolicyVersion: &version,
			DecidedAt: now.Add(-50 * time.Minute), Status: app.StatusFailed,
			Payload: []byte(`{"phoneNumber":"79161234567","requestNumber":"ord-1~1"}`),
			Tries: []app.ExplainedTry{{At: now.Add(-49 * time.Minute), DurationMS: 87, HTTPStatus: &status,
				Response: `{"error": "site blocked"}`, Error: &errText, Outcome: "refused"}},
		}},
	}
	policy := domain.Policy{Enabled: true, SiteID: "12345", Server: "api.calltouch.example", Token: secretToken, Hook: domain.HookAfterCall, OnlySuccessful: true}
	old := policy
	old.Token, old.OnlySuccessful = "", false
	return &fakeStore{
		orders:   map[string]app.OrderExplanation{"ord-1": x},
		policies: map[string]app.StoredPolicy{"w-1": {WidgetID: "w-1", Version: 2, Policy: policy, UpdatedAt: now.Add(-24 * time.Hour)}},
		versions: map[string][]app.PolicyVersion{"w-1": {
			{WidgetID: "w-1", Version: 2, Policy: withoutToken(policy), TokenMasked: domain.MaskToken(secretToken), Position: 5, RecordedAt: now.Add(-24 * time.Hour)},
			{WidgetID: "w-1", Version: 1, Policy: old, TokenMasked: domain.MaskToken(secretToken), Position: 1, RecordedAt: now.Add(-48 * time.Hour)},
		}},
		summaries: map[string]app.WidgetSummary{"w-1": {Orders: 3, Decisions: 4,
			ByStatus:    map[string]int64{app.StatusDelivered: 2, app.StatusFailed: 1, app.StatusSkipped: 1},
			SkipReasons: []app.ReasonCount{{Reason: "the call was not answered and the policy sends only successful calls", Count: 1}}}},
		days: []app.DayCount{
			{Day: now.AddDate(0, 0, -1).Truncate(24 * time.Hour), ByStatus: map[string]int64{app.StatusDelivered: 2, app.StatusSkipped: 1}},
			{Day: now.Truncate(24 * time.Hour), ByStatus: map[string]int64{app.StatusFailed: 1}},
		},
		page: app.LeadPage{Leads: []app.LeadRow{
			{Key: &key, OrderID: "ord-1", WidgetID: "w-1", Attempt: &attempt, Decision: "send", Status: app.StatusFailed, Reason: "attempt 1 failed", DecidedAt: now},
		}},
	}
}

func withoutToken(p domain.Policy) domain.Policy {
	p.Token = ""
	return p
}

// client is a browser of the console: it keeps cookies and does not
// follow redirects, so that tests see them.
type client struct {
	t       *testing.T
	handler http.Handler
	cookies map[string]*http.Cookie
}

func newConsole(t *testing.T, f *fakeStore, adminToken string) *client {
	cfg := console.Config{AdminToken: adminToken, Now: func() time.Time { return now }}
	cfg.Brokers = func() map[string]app.BrokerStatus {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.brokers
	}
	h := console.Handler(f.application(), cfg)
	return &client{t: t, handler: h, cookies: map[string]*http.Cookie{}}
}

// do sends one request; headers are name, value pairs.
func (c *client) do(method, target string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return rec
}

func (c *client) get(target string) *httptest.ResponseRecorder {
	c.t.Helper()
	return c.do(http.MethodGet, target, nil)
}

// page gets a page that must answer status and returns its body.
func (c *client) page(target string, status int) string {
	c.t.Helper()
	rec := c.get(target)
	if rec.Code != status {
		c.t.Fatalf("GET %s: %d, want %d\n%s", target, rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		c.t.Errorf("GET %s: Content-Type %q, want text/html", target, ct)
	}
	return rec.Body.String()
}

// login signs in with token and requires the redirect to next.
func (c *client) login(token, next string) {
	c.t.Helper()
	rec := c.do(http.MethodPost, "/ui/login", url.Values{"token": {token}, "next": {next}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != next {
		c.t.Fatalf("login: %d to %q, want 303 to %s\n%s", rec.Code, rec.Header().Get("Location"), next, rec.Body)
	}
}

// csrfOf reads the CSRF token a page's forms carry.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	if !ok {
		t.Fatalf("the page has no form with a CSRF token:\n%s", body)
	}
	token, _, _ := strings.Cut(rest, `"`)
	return token
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s:\n%s", what, body)
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(body, u) {
			t.Errorf("%s contains %q", what, u)
		}
	}
}
