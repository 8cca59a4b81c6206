package tests

import (
	"bytes"
	"net/http"
	"testing"

	"ctjournal/docs"
	"ctjournal/tests/harness"
)

// TestOpenAPI_ServedByTheBinary fetches the document from a running serve:
// without a token, as YAML, the same as docs/openapi.yaml.
func TestOpenAPI_ServedByTheBinary(t *testing.T) {
	t.Parallel()
	e := harness.Shared(t)
	status, body := e.Do(http.MethodGet, "/openapi.yaml", "", nil)
	if status != http.StatusOK || !bytes.Equal(body, docs.OpenAPI) {
		t.Fatalf("GET /openapi.yaml: %d, %d bytes; want 200 and docs/openapi.yaml (%d bytes)", status, len(body), len(docs.OpenAPI))
	}
}
