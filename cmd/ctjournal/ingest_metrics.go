package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
)

// ingestMetrics count the bodies of call events every port takes (HTTP
// requests, broker messages) and the events in them.
type ingestMetrics struct {
	messages   *prometheus.CounterVec
	ingested   prometheus.Counter
	duplicates prometheus.Counter
}

func newIngestMetrics(reg *prometheus.Registry) ingestMetrics {
	m := ingestMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctj_ingest_messages_total",
			Help: "Bodies of call events answered, by source (http, nats, amqp) and result (accepted, duplicate, rejected).",
		}, []string{"source", "result"}),
		ingested:   prometheus.NewCounter(prometheus.CounterOpts{Name: "ctj_events_ingested_total", Help: "Call events stored in the log."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "ctj_events_duplicate_total", Help: "Call events acknowledged as already known."}),
	}
	reg.MustRegister(m.messages, m.ingested, m.duplicates)
	return m
}

// observer counts the outcomes of one source; its series start at zero.
func (m ingestMetrics) observer(source string) func(app.IngestOutcome) {
	for _, r := range []app.IngestResult{app.IngestAccepted, app.IngestDuplicate, app.IngestRejected} {
		m.messages.WithLabelValues(source, string(r))
	}
	return func(o app.IngestOutcome) {
		m.messages.WithLabelValues(source, string(o.Result())).Inc()
		m.ingested.Add(float64(o.Stored.Accepted))
		m.duplicates.Add(float64(o.Stored.Duplicates))
	}
}
