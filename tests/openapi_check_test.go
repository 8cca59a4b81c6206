package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"ctjournal/docs"
)

// apiDoc is docs/openapi.yaml with a router over its paths: every request
// the tests send to serve, and every answer they get, is held to it.
var apiDoc = sync.OnceValues(func() (*openapiChecker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not valid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route docs/openapi.yaml: %w", err)
	}
	return &openapiChecker{doc: doc, router: router}, nil
})

type openapiChecker struct {
	doc    *openapi3.T
	router routers.Router
}

// apiViolations are the exchanges that did not match the document, by
// process; each process's are reported when its engine stops.
var apiViolations struct {
	mu    sync.Mutex
	found map[*process]*violations
}

// violations are one process's mismatches, counted by kind: the
// operation, the status and the reason, values left out.
type violations struct {
	total   int
	kinds   []string
	count   map[string]int
	example map[string]string
}

// maxKindsShown bounds the report of one engine; the rest are counted.
const maxKindsShown = 20

// checkAPI holds one exchange with serve to the document. The answer is
// always checked: its status must be documented and its body match. The
// request is checked only when serve accepted it (2xx), since tests send
// invalid requests on purpose and serve's refusal is then what is checked.
func (p *process) checkAPI(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	operation, err := checkExchange(req, reqBody, resp, respBody)
	if err == nil {
		return
	}
	kind := fmt.Sprintf("%s %s → %d: %s", req.Method, operation, resp.StatusCode, valuesLeftOut.ReplaceAllString(err.Error(), ""))
	apiViolations.mu.Lock()
	defer apiViolations.mu.Unlock()
	if apiViolations.found == nil {
		apiViolations.found = map[*process]*violations{}
	}
	v := apiViolations.found[p]
	if v == nil {
		v = &violations{count: map[string]int{}, example: map[string]string{}}
		apiViolations.found[p] = v
	}
	v.total++
	if v.count[kind]++; v.count[kind] == 1 {
		v.kinds = append(v.kinds, kind)
		v.example[kind] = fmt.Sprintf("%s %s → %d: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
	}
}

// valuesLeftOut matches the value schemaErrorMessage adds to a reason.
var valuesLeftOut = regexp.MustCompile(`; value: .*`)

// openAPIViolations reports the exchanges with p that did not match
// docs/openapi.yaml, by kind, and forgets them.
func (p *process) openAPIViolations() error {
	apiViolations.mu.Lock()
	v := apiViolations.found[p]
	delete(apiViolations.found, p)
	apiViolations.mu.Unlock()
	if v == nil {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d exchanges with serve do not match docs/openapi.yaml, in %d kinds:", v.total, len(v.kinds))
	for _, kind := range v.kinds[:min(len(v.kinds), maxKindsShown)] {
		fmt.Fprintf(&b, "\n%d× %s\n    e.g. %s", v.count[kind], kind, v.example[kind])
	}
	return errors.New(b.String())
}

// checkExchange checks one exchange and names the operation it was for:
// the document's path, or the request's when the document has none.
func checkExchange(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) (string, error) {
	c, err := apiDoc()
	if err != nil {
		return req.URL.Path, err
	}
	ctx := context.Background()
	// The client has consumed the request's body; the check reads a copy.
	sent := req.Clone(ctx)
	sent.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(sent)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return "(undocumented) " + req.URL.Path, c.checkUndocumented(resp, respBody)
	}
	if err != nil {
		return req.URL.Path, fmt.Errorf("route the request: %w", err)
	}
	opts := &openapi3filter.Options{
		// Whether a token is needed depends on serve's configuration, and
		// refusing without one is serve's job: the document only names it.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	in := &openapi3filter.RequestValidationInput{Request: sent, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return route.Path, fmt.Errorf("accepted a request the document does not allow: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts,
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return route.Path, fmt.Errorf("answer: %w", err)
	}
	return route.Path, nil
}

// schemaErrorMessage is why a value does not match, with the value cut
// short: the schema is in the document, and a whole body drowns the reason.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	value, _ := json.Marshal(err.Value)
	if len(value) > 400 {
		value = append(value[:400], "…"...)
	}
	return fmt.Sprintf("%s; value: %s", err.Reason, value)
}

// checkUndocumented checks the answer to a path or method the document
// does not have: a refusal, and JSON ones shaped as every error is.
func (c *openapiChecker) checkUndocumented(resp *http.Response, body []byte) error {
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
	default:
		return fmt.Errorf("an undocumented path or method answered %d, want 400, 404 or 405", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	if err := c.doc.Components.Schemas["FieldError"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return nil
}

// TestOpenAPI_ServedByTheBinary fetches the document from a running serve:
// without a token, as YAML, the same as docs/openapi.yaml.
func TestOpenAPI_ServedByTheBinary(t *testing.T) {
	t.Parallel()
	e := sharedEngine(t)
	status, body := e.do(http.MethodGet, "/openapi.yaml", "", nil)
	if status != http.StatusOK || !bytes.Equal(body, docs.OpenAPI) {
		t.Fatalf("GET /openapi.yaml: %d, %d bytes; want 200 and docs/openapi.yaml (%d bytes)", status, len(body), len(docs.OpenAPI))
	}
}
