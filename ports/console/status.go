package console

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"ctjournal/app"
)

// statusPage is the engine's state, as GET /v1/status reports it.
type statusPage struct {
	S app.EngineStatus
	// Queue is the delivery queue: pending, delivered and failed, then any
	// other status the store has.
	Queue []queueCount
	// Brokers are the broker consumers by source, in name order.
	Brokers []brokerView
}

type brokerView struct {
	Source string
	app.BrokerStatus
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
	if c.cfg.Brokers != nil {
		brokers := c.cfg.Brokers()
		for _, source := range slices.Sorted(maps.Keys(brokers)) {
			p.Brokers = append(p.Brokers, brokerView{source, brokers[source]})
		}
	}
	c.render(w, r, http.StatusOK, "status", ses, p)
}

// seconds shows a duration given in seconds for reading.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
