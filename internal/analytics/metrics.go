package analytics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serviceMetrics are the analytics side's Prometheus collectors.
type serviceMetrics struct {
	queries *prometheus.HistogramVec // by query
	rows    *prometheus.CounterVec   // exported rows by type and format
}

// stateTTL bounds how often a scrape recounts journeys and anomalies.
const stateTTL = 15 * time.Second

func newServiceMetrics(s *Service, reg prometheus.Registerer) (*serviceMetrics, error) {
	m := &serviceMetrics{
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hooklens", Name: "analytics_query_seconds",
			Help:    "Time to answer an analytics query, by query (overview, event_stats, journeys, anomalies, reconciliation).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"query"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hooklens", Name: "export_rows_total",
			Help: "Rows streamed by exports, by type (events, journeys) and format (csv, json, ndjson).",
		}, []string{"type", "format"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.queries, err = register(reg, m.queries); err != nil {
		return nil, err
	}
	if m.rows, err = register(reg, m.rows); err != nil {
		return nil, err
	}
	if err := reg.Register(&stateCollector{s: s}); err != nil && !isAlreadyRegistered(err) {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (two Services on one registry share it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func isAlreadyRegistered(err error) bool {
	var are prometheus.AlreadyRegisteredError
	return errors.As(err, &are)
}

func (m *serviceMetrics) observe(query string, start time.Time) {
	m.queries.WithLabelValues(query).Observe(time.Since(start).Seconds())
}

var (
	journeysDesc = prometheus.NewDesc("hooklens_journeys", "Journeys by status (active, completed, failed, stuck, abandoned).", []string{"status"}, nil)
	anomalyDesc  = prometheus.NewDesc("hooklens_anomalies_open", "Anomalies open or acknowledged, by severity (info, warning, critical).", []string{"severity"}, nil)
)

// stateCollector reports journeys by status and open anomalies by
// severity, counted at scrape time at most every stateTTL.
type stateCollector struct {
	s        *Service
	mu       sync.Mutex
	at       time.Time
	journeys map[string]int64
	severity map[string]int64
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- journeysDesc
	ch <- anomalyDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > stateTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		j, jerr := c.s.JourneysByStatus(ctx)
		a, aerr := c.s.OpenAnomaliesBySeverity(ctx)
		cancel()
		if jerr == nil && aerr == nil {
			c.journeys, c.severity, c.at = j, a, time.Now()
		}
	}
	for _, st := range []string{"active", "completed", "failed", "stuck", "abandoned"} {
		ch <- prometheus.MustNewConstMetric(journeysDesc, prometheus.GaugeValue, float64(c.journeys[st]), st)
	}
	for _, sev := range []string{"info", "warning", "critical"} {
		ch <- prometheus.MustNewConstMetric(anomalyDesc, prometheus.GaugeValue, float64(c.severity[sev]), sev)
	}
}
