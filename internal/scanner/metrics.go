package scanner

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scanMetrics are the scanner's collectors.
type scanMetrics struct {
	duration *prometheus.HistogramVec // by result
	changes  *prometheus.CounterVec   // by kind
}

func newScanMetrics(reg prometheus.Registerer) (*scanMetrics, error) {
	m := &scanMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hooklens", Name: "anomaly_scan_seconds",
			Help:    "Time to run one anomaly scan (read the rollups, detect, persist), by result (ok, error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hooklens", Name: "anomaly_changes_total",
			Help: "Anomaly lifecycle transitions, by kind (opened, escalated, resolved, acknowledged, resolved_manually).",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.changes, err = register(reg, m.changes); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name.
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

func (m *scanMetrics) observe(start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.duration.WithLabelValues(result).Observe(time.Since(start).Seconds())
}
