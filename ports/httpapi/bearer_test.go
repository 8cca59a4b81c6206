package httpapi

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBearerMatches(t *testing.T) {
	want := sha256.Sum256([]byte("s3cret"))
	for header, ok := range map[string]bool{
		"Bearer s3cret":  true,
		"bearer s3cret":  true,
		"BEARER s3cret":  true,
		"bEaReR s3cret":  true,
		"Bearer  s3cret": true, // RFC 9110: one or more spaces
		"Bearer s3cre":   false,
		"Bearer s3crett": false,
		"Bearer S3CRET":  false, // the token itself is case-sensitive
		"Bearer":         false,
		"Bearer ":        false,
		"Bearers3cret":   false,
		"Basic s3cret":   false,
		"s3cret":         false,
		"":               false,
	} {
		if got := bearerMatches(header, want); got != ok {
			t.Errorf("Authorization %q: matches %v, want %v", header, got, ok)
		}
	}
}

// Both tokens take the scheme in any case, and each only on its endpoints.
func TestBearer_SchemeIsCaseInsensitiveForBothTokens(t *testing.T) {
	h := Handler(testApp(), testConfig())
	// Each request is answered by its handler without reaching the app when
	// the token is right: 415 and 400.
	ingest := func() *http.Request { return httptest.NewRequest("POST", "/v1/events", nil) }
	admin := func() *http.Request { return httptest.NewRequest("GET", "/v1/leads?status=bogus", nil) }
	for _, tc := range []struct {
		name         string
		request      func() *http.Request
		token, other string
		pass         int
	}{
		{"ingest", ingest, ingestToken, adminToken, http.StatusUnsupportedMediaType},
		{"admin", admin, adminToken, ingestToken, http.StatusBadRequest},
	} {
		for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
			r := tc.request()
			r.Header.Set("Authorization", scheme+" "+tc.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.pass {
				t.Errorf("%s with %q: %d %s, want %d", tc.name, scheme, w.Code, w.Body, tc.pass)
			}
		}
		r := tc.request()
		r.Header.Set("Authorization", "bearer "+tc.other)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s with the other token: %d, want 401", tc.name, w.Code)
		}
	}
}
