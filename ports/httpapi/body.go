package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
)

// readBody reads a request body of at most limit bytes (named by
// limitText in the refusal), or answers the refusal itself and returns
// false: 413 at once when Content-Length says more, without waiting for
// the body, or when more arrives; 408 when the body did not arrive within
// the server's body limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, limitText string) ([]byte, bool) {
	return readBodyOr(w, r, limit, func() {
		writeError(w, http.StatusRequestEntityTooLarge, "body is larger than "+limitText, nil)
	})
}

// readBodyOr is readBody with the 413 answered by tooLarge.
func readBodyOr(w http.ResponseWriter, r *http.Request, limit int64, tooLarge func()) ([]byte, bool) {
	if r.ContentLength > limit {
		tooLarge()
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var over *http.MaxBytesError
	switch {
	case err == nil:
		return body, true
	case errors.As(err, &over):
		tooLarge()
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, "the body did not arrive in time", nil)
	default:
		writeError(w, http.StatusBadRequest, "could not read the body: "+err.Error(), nil)
	}
	return nil, false
}
