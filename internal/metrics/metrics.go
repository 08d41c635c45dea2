// Package metrics declares every Prometheus metric hooklens exports, in one
// place, so dashboards and alert rules have one catalogue to check against.
// Components receive the *Metrics they need; nothing registers globally.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every hooklens metric.
const Namespace = "hooklens"

// Metrics holds hooklens' collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// Capture.
	Deliveries      *prometheus.CounterVec   // by outcome
	AckLatency      *prometheus.HistogramVec // by outcome
	EventsStored    *prometheus.CounterVec   // by source
	IngestBatchSize prometheus.Histogram
	IngestQueued    prometheus.Gauge
	RejectsDropped  prometheus.Counter

	// Live updates.
	LiveDropped *prometheus.CounterVec // by kind
}

// New creates and registers the collectors, with Go and process metrics.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "webhook_deliveries_total",
			Help: "Webhook deliveries received, by outcome (accepted, duplicate, bad_signature, malformed, too_large, rate_limited, unavailable, forbidden, not_configured).",
		}, []string{"outcome"}),
		AckLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "webhook_ack_seconds",
			Help:    "Time from a delivery's arrival to its answer, by outcome.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		EventsStored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "events_stored_total",
			Help: "New events stored, by source (webhook, sync, reconcile).",
		}, []string{"source"}),
		IngestBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "ingest_batch_size",
			Help:    "Deliveries committed together in one group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		IngestQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "ingest_pending",
			Help: "Deliveries waiting for their group commit.",
		}),
		RejectsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "ingest_rejection_records_dropped_total",
			Help: "Records of rejected deliveries not written because the writer was saturated (the rejection itself is still counted).",
		}),
		LiveDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "live_messages_dropped_total",
			Help: "Live-update messages dropped because a subscriber's buffer was full, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Deliveries, m.AckLatency, m.EventsStored, m.IngestBatchSize, m.IngestQueued, m.RejectsDropped,
		m.LiveDropped,
	)
	return m
}
