package reconcile

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/metrics"
)

// healthCollector exports the health score of the latest reconciliation
// that produced one, read from the database when Prometheus scrapes: every
// instance then reports the same figure, whichever ran the reconciliation,
// and before the first scored run the metric is absent rather than a
// misleading 0.
type healthCollector struct {
	s    *Service
	desc *prometheus.Desc
}

func newHealthCollector(s *Service) *healthCollector {
	return &healthCollector{s: s, desc: prometheus.NewDesc(
		prometheus.BuildFQName(metrics.Namespace, "", "health_score"),
		"The health score (0–100) of the latest reconciliation that produced one, from any instance; absent before the first.",
		nil, nil)}
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	if score, ok := c.s.latestScore(); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, score)
	}
}

// latestScore is the health score of the latest reconciliation that
// produced one (only a run that succeeds does). A database that does not answer within a second leaves
// the metric out of this scrape (the scrape itself must not hang).
func (s *Service) latestScore() (float64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	run, err := s.db.Client.ReconciliationRun.Query().
		Where(reconciliationrun.HealthScoreNotNil()).
		Order(ent.Desc(reconciliationrun.FieldID)).
		Select(reconciliationrun.FieldHealthScore).First(ctx)
	if err != nil || run.HealthScore == nil {
		return 0, false
	}
	return *run.HealthScore, true
}
