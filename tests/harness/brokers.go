package harness

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Counts of broker ingest, from /metrics and GET /v1/status.

// --- counts ---

// Ingested is ctj_ingest_messages_total of one source and result in p.
func (p *Process) Ingested(t *testing.T, source, result string) int {
	t.Helper()
	m, err := p.Metrics()
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return int(m[fmt.Sprintf(`ctj_ingest_messages_total{result=%q,source=%q}`, result, source)])
}

// WaitIngested waits until p counted n messages of source with result.
func (e *Engine) WaitIngested(source, result string, n int) {
	e.T.Helper()
	WaitUntil(e.T, 2*WaitLimit, fmt.Sprintf("%d %s messages from %s", n, result, source), func() (bool, string) {
		got := e.Ingested(e.T, source, result)
		return got >= n, fmt.Sprintf("%d counted", got)
	})
}

// LeadsDelivered waits up to limit until n leads of the engine's database
// are delivered.
func (e *Engine) LeadsDelivered(n int, limit time.Duration) {
	e.T.Helper()
	db := e.OpenDB(e.T)
	WaitUntil(e.T, limit, fmt.Sprintf("%d leads delivered", n), func() (bool, string) {
		got := QueryInt(e.T, db, `SELECT count(*) FROM ctj_decisions WHERE status = 'delivered'`)
		return got >= n, fmt.Sprintf("%d delivered", got)
	})
}

// Connected is ctj_broker_connected of a source.
func (p *Process) Connected(t *testing.T, source string) float64 {
	t.Helper()
	m, err := p.Metrics()
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	v, ok := m[`ctj_broker_connected{source="`+source+`"}`]
	if !ok {
		t.Fatalf("no ctj_broker_connected for %s", source)
	}
	return v
}

// BrokerStatus is a source's entry in GET /v1/status.
func (e *Engine) BrokerStatus(source string) map[string]any {
	e.T.Helper()
	status, st := e.DoJSON(http.MethodGet, "/v1/status", nil)
	brokers, _ := st["brokers"].(map[string]any)
	if status != http.StatusOK || brokers == nil {
		e.T.Fatalf("GET /v1/status: %d %v", status, st)
	}
	entry, _ := brokers[source].(map[string]any)
	return entry
}
