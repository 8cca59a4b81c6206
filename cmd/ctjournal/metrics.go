package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"ctjournal/app"
)

// engineMetrics are the delivery worker's counters; the HTTP port
// registers its own.
type engineMetrics struct {
	tries    *prometheus.CounterVec
	duration prometheus.Histogram
}

func newEngineMetrics(reg *prometheus.Registry) engineMetrics {
	m := engineMetrics{
		tries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctj_delivery_tries_total", Help: "Calltouch tries by outcome (delivered, transient, refused).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ctj_delivery_try_duration_seconds", Help: "Duration of one Calltouch try.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
	}
	reg.MustRegister(m.tries, m.duration)
	return m
}

func (m engineMetrics) observeTry(t app.DeliveryTried) {
	m.tries.WithLabelValues(string(t.Outcome)).Inc()
	m.duration.Observe(float64(t.DurationMS) / 1000)
}
