// Package docs holds the documents the binary serves itself.
package docs

import _ "embed"

// OpenAPI is openapi.yaml: the OpenAPI 3.1 description of the HTTP API,
// served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
