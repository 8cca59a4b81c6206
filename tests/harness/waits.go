package harness

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// WaitForRequests waits until the engine's fake got at least n requests.
func (e *Engine) WaitForRequests(n int) []calltouchfake.Request {
	e.T.Helper()
	return WaitForRequests(e.T, e.Fake, n)
}

func WaitForRequests(t *testing.T, fake *calltouchfake.Server, n int) []calltouchfake.Request {
	t.Helper()
	if !fake.WaitFor(n, WaitLimit) {
		t.Fatalf("the fake Calltouch got %d requests within %s, want at least %d", fake.Count(), WaitLimit, n)
	}
	return fake.Requests()
}

// WaitForStatus waits until the order's decision on attempt (0: the order
// itself) has the status, and returns it.
func (e *Engine) WaitForStatus(orderID string, attempt int, status string) Decision {
	e.T.Helper()
	var found Decision
	Eventually(e.T, fmt.Sprintf("order %s, attempt %d: status %s", orderID, attempt, status), func() (bool, string) {
		code, x := e.Order(orderID)
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/orders/%s: %d", orderID, code)
		}
		d, ok := x.Decision(attempt)
		if !ok {
			return false, fmt.Sprintf("no decision yet; explanation %+v", x)
		}
		found = d
		return d.Status == status, fmt.Sprintf("decision %+v", d)
	})
	return found
}

// WaitForLead waits until the decision with the lead key has the status.
func (e *Engine) WaitForLead(key, status string) Decision {
	e.T.Helper()
	orderID, _, _ := strings.Cut(key, "~")
	var found Decision
	Eventually(e.T, fmt.Sprintf("lead %s: status %s", key, status), func() (bool, string) {
		code, x := e.Order(orderID)
		if code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/orders/%s: %d", orderID, code)
		}
		for _, d := range x.Decisions {
			if d.Key != nil && *d.Key == key {
				found = d
				return d.Status == status, fmt.Sprintf("decision %+v", d)
			}
		}
		return false, fmt.Sprintf("no decision with key %s; explanation %+v", key, x)
	})
	return found
}

// WaitForEvents waits until the projection has folded n events of the order.
func (e *Engine) WaitForEvents(orderID string, n int) Explanation {
	e.T.Helper()
	var x Explanation
	Eventually(e.T, fmt.Sprintf("order %s with %d events", orderID, n), func() (bool, string) {
		var code int
		code, x = e.Order(orderID)
		return code == http.StatusOK && len(x.Events) >= n, fmt.Sprintf("%d %+v", code, x)
	})
	return x
}

// Eventually polls cond until it holds, failing the test after WaitLimit
// with what it waited for and the last state cond described.
func Eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", WaitLimit, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitUntil polls cond every 100 ms until it holds, failing t after limit
// with what it waited for and the last state cond described.
func WaitUntil(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", limit, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
