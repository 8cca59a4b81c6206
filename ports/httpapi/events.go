package httpapi

import (
	"errors"
	"mime"
	"net/http"

	"ctjournal/app"
	"ctjournal/wire"
)

// maxIngestBody is the largest POST /v1/events body (docs/api.md).
const maxIngestBody = 1 << 20

// ingestError is the 400 answer of POST /v1/events: index and field are
// always present, null when they do not apply.
type ingestError struct {
	Error string  `json:"error"`
	Index *int    `json:"index"`
	Field *string `json:"field"`
}

// ingestConflict is the 409 answer: the later event's index, no field.
type ingestConflict struct {
	Error string `json:"error"`
	Index int    `json:"index"`
}

func (s server) postEvents(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return
	}
	body, ok := readBody(w, r, maxIngestBody, "1 MiB")
	if !ok {
		return
	}
	events, err := wire.ParseBatch(body)
	var bad *wire.BatchError
	if errors.As(err, &bad) {
		e := ingestError{Error: bad.Error()}
		if bad.Index >= 0 {
			e.Index = ptr(bad.Index)
		}
		if bad.Field != "" {
			e.Field = ptr(bad.Field)
		}
		writeJSON(w, http.StatusBadRequest, e)
		return
	}
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	res, err := s.app.Commands.IngestEvents.Handle(r.Context(), events)
	var conflict *app.ConflictError
	if errors.As(err, &conflict) {
		writeJSON(w, http.StatusConflict, ingestConflict{Error: conflict.Message, Index: conflict.Index})
		return
	}
	if errors.Is(err, app.ErrInvalidData) {
		s.logRefusedValue(r, err)
		writeJSON(w, http.StatusBadRequest, ingestError{Error: refusedValueMessage})
		return
	}
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	s.metrics.ingested.Add(float64(res.Accepted))
	s.metrics.duplicates.Add(float64(res.Duplicates))
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": res.Accepted, "duplicates": res.Duplicates})
}
