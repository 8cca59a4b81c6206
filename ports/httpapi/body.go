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
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "body is larger than "+limitText, nil)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return body, true
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "body is larger than "+limitText, nil)
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, "the body did not arrive in time", nil)
	default:
		writeError(w, http.StatusBadRequest, "could not read the body: "+err.Error(), nil)
	}
	return nil, false
}
