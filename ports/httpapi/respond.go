package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"ctjournal/app"
	"ctjournal/domain"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is every error answer; index and field appear where they mean
// something for the endpoint.
type errorBody struct {
	Error string  `json:"error"`
	Index *int    `json:"index,omitempty"`
	Field *string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string, field *string) {
	writeJSON(w, status, errorBody{Error: msg, Field: field})
}

// logRefusedValue notes a value the store refused: the input checks should
// have refused it first, with the field named.
func (s server) logRefusedValue(r *http.Request, err error) {
	s.cfg.Log.Warn("the store refused a value of the request", "method", r.Method, "path", r.URL.Path, "err", err)
}

// writeAppError maps the app's errors to status codes: bad input or a
// value the store refused 400, unknown 404, refused by state 409, store
// down 503, anything else 500.
func (s server) writeAppError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		fieldErr *domain.FieldError
		stateErr *app.StateError
	)
	switch {
	case errors.As(err, &fieldErr):
		var field *string // absent when the input as a whole is at fault
		if fieldErr.Field != "" {
			field = &fieldErr.Field
		}
		writeError(w, http.StatusBadRequest, fieldErr.Error(), field)
	case errors.Is(err, app.ErrInvalidData):
		s.logRefusedValue(r, err)
		writeError(w, http.StatusBadRequest, app.RefusedValueMessage, nil)
	case errors.Is(err, app.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found", nil)
	case errors.As(err, &stateErr):
		writeError(w, http.StatusConflict, stateErr.Message, nil)
	case errors.Is(err, app.ErrUnavailable):
		s.cfg.Log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the store cannot be reached; nothing was changed, try again", nil)
	default:
		s.cfg.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", nil)
	}
}

func ptr[T any](v T) *T { return &v }
