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

	// Pipeline.
	Processed        prometheus.Counter
	ProcessFailures  *prometheus.CounterVec // by kind: retry, dead_letter
	BatchDuration    prometheus.Histogram
	EndToEnd         prometheus.Histogram // receipt → processed
	WorkersBusy      prometheus.Gauge
	Breaker          *prometheus.GaugeVec // by breaker name: 0 closed, 1 half-open, 2 open
	ReplayedEvents   prometheus.Counter
	QueueDepth       prometheus.GaugeFunc
	QueueOldest      prometheus.GaugeFunc
	DeadLetterEvents prometheus.GaugeFunc

	// Live updates.
	LiveDropped *prometheus.CounterVec // by kind

	http *httpMetrics // see InstrumentHTTP
}

// StatusSource answers the queue gauges; the pipeline implements it.
type StatusSource interface {
	QueueGauges() (depth, oldestSeconds, deadLettered float64)
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
		Processed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "pipeline_processed_total",
			Help: "Events processed successfully (replays included).",
		}),
		ProcessFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "pipeline_failures_total",
			Help: "Failed processing attempts, by what followed: retry or dead_letter.",
		}, []string{"kind"}),
		BatchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "pipeline_batch_seconds",
			Help:    "Time to process one claimed batch, commit included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		EndToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "pipeline_end_to_end_seconds",
			Help:    "Time from an event's first receipt to its first successful processing.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		WorkersBusy: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "pipeline_workers_busy",
			Help: "Pipeline workers processing a batch right now.",
		}),
		Breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "circuit_breaker_state",
			Help: "Circuit breaker state by breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"breaker"}),
		ReplayedEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "pipeline_replayed_events_total",
			Help: "Events sent back through the pipeline by replays.",
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
		m.Processed, m.ProcessFailures, m.BatchDuration, m.EndToEnd, m.WorkersBusy, m.Breaker, m.ReplayedEvents,
		m.LiveDropped,
	)
	m.http = newHTTPMetrics(reg)
	return m
}

// WatchQueue registers the queue gauges, read from src at scrape time.
func (m *Metrics) WatchQueue(src StatusSource) {
	m.QueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "queue_depth",
		Help: "Events queued for processing (due now or later).",
	}, func() float64 { d, _, _ := src.QueueGauges(); return d })
	m.QueueOldest = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "queue_oldest_seconds",
		Help: "Age of the oldest queued event, since its receipt.",
	}, func() float64 { _, o, _ := src.QueueGauges(); return o })
	m.DeadLetterEvents = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "dead_letter_events",
		Help: "Events dead-lettered (failed after their last attempt) and not replayed since.",
	}, func() float64 { _, _, f := src.QueueGauges(); return f })
	m.Registry.MustRegister(m.QueueDepth, m.QueueOldest, m.DeadLetterEvents)
}
