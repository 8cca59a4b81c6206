package httpapi

import (
	"mime"
	"net/http"

	"ctjournal/app"
)

// refusalStatus answers each kind of refused body.
var refusalStatus = map[app.RefusalKind]int{
	app.RefusedInvalid:  http.StatusBadRequest,
	app.RefusedConflict: http.StatusConflict,
	app.RefusedTooLarge: http.StatusRequestEntityTooLarge,
}

func (s server) postEvents(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
		return
	}
	body, ok := readBodyOr(w, r, app.MaxIngestBody, func() {
		s.answerIngest(w, r, app.IngestOutcome{Refused: app.TooLargeRefusal()})
	})
	if !ok {
		return
	}
	outcome, err := s.app.Commands.IngestBody.Handle(r.Context(), body)
	if err != nil {
		s.writeAppError(w, r, err)
		return
	}
	s.answerIngest(w, r, outcome)
}

// answerIngest answers a body stored or refused, and counts it.
func (s server) answerIngest(w http.ResponseWriter, r *http.Request, o app.IngestOutcome) {
	s.cfg.ObserveIngest(o)
	if refused := o.Refused; refused != nil {
		if refused.Cause != nil {
			s.logRefusedValue(r, refused.Cause)
		}
		writeJSON(w, refusalStatus[refused.Kind], refused)
		return
	}
	writeJSON(w, http.StatusAccepted, ingestAnswer{Accepted: o.Stored.Accepted, Duplicates: o.Stored.Duplicates})
}

// ingestAnswer is the 202's body; a struct, not a map, so that encoding it
// neither allocates a map nor sorts its keys for every body.
type ingestAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}
