package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
	"ctjournal/docs"
	"ctjournal/ports/httpapi"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("load docs/openapi.yaml: %v", err)
	}
	return doc
}

func TestOpenAPI_DocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid: %v", err)
	}
	// Validate checks OpenAPI 3.0's example, not JSON Schema's examples.
	err := doc.WalkSchemas(func(at string, s *openapi3.SchemaRef) error {
		for _, ex := range s.Value.Examples {
			if err := s.Value.VisitJSON(ex, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("%s: example %v does not match its schema: %v", at, ex, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPI_DescribesEveryRoute holds the router and the document to the
// same set of methods and paths.
func TestOpenAPI_DescribesEveryRoute(t *testing.T) {
	var documented []string
	for path, item := range loadOpenAPI(t).Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := httpapi.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in docs/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%s is in docs/openapi.yaml but not served", d)
		}
	}
}

// TestOpenAPI_ServedWithoutToken serves the embedded document even when
// both tokens are set.
func TestOpenAPI_ServedWithoutToken(t *testing.T) {
	h := httpapi.Handler(app.Application{}, httpapi.Config{
		IngestToken: "ingest-secret", AdminToken: "admin-secret", Registry: prometheus.NewRegistry(),
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.yaml: %d %s", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type = %q, want application/yaml", ct)
	}
	if !bytes.Equal(body, docs.OpenAPI) || !strings.HasPrefix(string(body), "openapi: 3.1") {
		t.Errorf("GET /openapi.yaml is not the embedded document: %.80q…", body)
	}
}
