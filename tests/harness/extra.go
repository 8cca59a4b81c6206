package harness

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// storeDown refuses every connection to the engine's database and ends
// those open, as a database server out of reach would; PostgreSQL itself,
// which other tests use, goes on. It returns storeUp.
func (e *Engine) StoreDown(t *testing.T) (storeUp func()) {
	t.Helper()
	up := func() {
		if err := AdminExec(`ALTER DATABASE "` + e.DBName + `" ALLOW_CONNECTIONS true`); err != nil {
			t.Errorf("let connections to %s in again: %v", e.DBName, err)
		}
	}
	t.Cleanup(up)
	if err := AdminExec(`ALTER DATABASE "` + e.DBName + `" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if err := AdminExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + e.DBName + `'`); err != nil {
		t.Fatal(err)
	}
	return up
}

// connected is ctj_broker_connected of a source.
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

// brokerStatus is a source's entry in GET /v1/status.
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

// postRefusedEarly posts body over a connection of its own and returns
// the answer's status. serve answers a body it refuses by its
// Content-Length at once and closes the connection soon after, so a
// client still writing may find the connection gone before it reads the
// answer: the body is written beside the reading, its error ignored.
func (e *Engine) PostRefusedEarly(body []byte) int {
	e.T.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL(""), "http://"))
	if err != nil {
		e.T.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: ctjournal\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	if e.ingestToken != "" {
		head += "Authorization: Bearer " + e.ingestToken + "\r\n"
	}
	go func() { _, _ = conn.Write(append([]byte(head+"\r\n"), body...)) }()
	_ = conn.SetReadDeadline(time.Now().Add(WaitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.T.Fatalf("POST /v1/events of %d bytes: %v", len(body), err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
