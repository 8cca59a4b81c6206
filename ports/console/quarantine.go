package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"ctjournal/app"
)

// maxRecordExcerpt bounds the part of a set-aside record a page shows.
const maxRecordExcerpt = 2048

// quarantinePage lists the log records the projection set aside, as
// `ctjournal quarantine` does.
type quarantinePage struct {
	Records []quarantinedView
}

func (quarantinePage) title() string   { return "Quarantine" }
func (quarantinePage) section() string { return "quarantine" }

type quarantinedView struct {
	app.QuarantinedRecord
	Record string // the record as the log holds it, cut to an excerpt
}

func (c *console) quarantine(w http.ResponseWriter, r *http.Request, ses session) {
	recs, err := c.app.Queries.ListQuarantined.Handle(r.Context())
	if err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	p := quarantinePage{Records: make([]quarantinedView, 0, len(recs))}
	for _, rec := range recs {
		p.Records = append(p.Records, quarantinedView{QuarantinedRecord: rec, Record: recordExcerpt(rec.Payload)})
	}
	c.render(w, r, http.StatusOK, "quarantine", ses, p)
}

// recordExcerpt is a log record for reading: indented when it is JSON,
// valid UTF-8, and no longer than maxRecordExcerpt bytes.
func recordExcerpt(payload []byte) string {
	s := strings.ToValidUTF8(prettyJSON(json.RawMessage(payload)), "\uFFFD")
	if len(s) <= maxRecordExcerpt {
		return s
	}
	cut := maxRecordExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
