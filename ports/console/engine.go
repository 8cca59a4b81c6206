package console

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
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

// statusPage is the engine's state, as GET /v1/status reports it.
type statusPage struct {
	S app.EngineStatus
	// Queue is the delivery queue in the order of app.LeadStatuses, then
	// any other status the store has.
	Queue []queueCount
}

type queueCount struct {
	Status string
	Count  int64
}

func (statusPage) title() string   { return "Engine status" }
func (statusPage) section() string { return "status" }

func (c *console) status(w http.ResponseWriter, r *http.Request, ses session) {
	st, err := c.app.Queries.GetStatus.Handle(r.Context())
	if err != nil {
		c.renderAppError(w, r, ses, err)
		return
	}
	p := statusPage{S: st}
	queued := []string{app.StatusPending, app.StatusDelivered, app.StatusFailed}
	for _, status := range slices.Sorted(maps.Keys(st.DeliveryQueue)) {
		if !slices.Contains(queued, status) {
			queued = append(queued, status)
		}
	}
	for _, status := range queued {
		p.Queue = append(p.Queue, queueCount{status, st.DeliveryQueue[status]})
	}
	c.render(w, r, http.StatusOK, "status", ses, p)
}

// seconds shows a duration given in seconds for reading.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
