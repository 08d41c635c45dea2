package analytics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/reconciliationrun"
	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

func insertEvents(t *testing.T, db *store.DB, at time.Time, topic string, n int, prefix string) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	var evs []store.NewEvent
	for i := 0; i < n; i++ {
		evs = append(evs, store.NewEvent{EventID: fmt.Sprintf("%s-%s-%d", prefix, topic, i), Topic: topic, TopicKnown: true,
			CreatedAt: at, Body: []byte("{}"), BodySHA256: "x", BodySize: 2, Deliveries: 1})
	}
	_, err = db.InsertEvents(ctx, tx, at, evs)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

// Events not processed yet, and dead letters, are counted from the table
// until the rollups hold them; the previous period gives the change.
func TestOverviewCountsUnprocessedEvents(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		now := time.Now().UTC()
		insertEvents(t, db, now.Add(-90*time.Minute), "customer_transfer_created", 4, "old")
		insertEvents(t, db, now.Add(-10*time.Minute), "customer_transfer_created", 6, "new")
		insertEvents(t, db, now.Add(-5*time.Minute), "customer_transfer_failed", 3, "new")
		_, err := db.Write.Exec("UPDATE event_queue SET state = 'failed', attempts = 8 WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE topic = 'customer_transfer_failed')")
		require.NoError(t, err)

		svc, err := analytics.New(db, analytics.Options{Now: func() time.Time { return now }})
		require.NoError(t, err)
		o, err := svc.Overview(context.Background(), now.Add(-time.Hour), now, "")
		require.NoError(t, err)
		require.Equal(t, 9.0, o.Events.Value)
		require.Equal(t, 4.0, o.Events.Previous)
		require.InDelta(t, 1.25, *o.Events.Change, 1e-9)
		require.Equal(t, 6.0, o.Waiting.Value)
		require.Equal(t, 3.0, o.DeadLettered.Value)
		require.Zero(t, o.Processed.Value)
		require.Equal(t, 0.0, *o.ProcessingSuccessRate.Value)
		require.Equal(t, 1.0, *o.ProcessingFailureRate.Value)
		require.Nil(t, o.ProcessingSuccessRate.Previous, "nothing finished in the previous hour")
		require.Equal(t, int64(10), o.Queue.Depth)
		require.NotNil(t, o.Queue.OldestQueuedAt)
		require.InDelta(t, 90*60, o.Queue.OldestAgeSeconds, 2)

		var series int64
		for _, p := range o.Series {
			series += p.Events
		}
		require.Equal(t, int64(9), series)
		tr := o.BusinessRates[0]
		require.Equal(t, "transfer", tr.Family)
		require.Equal(t, 6.0, tr.Created.Value)
		require.Equal(t, 3.0, tr.Failed.Value)
		require.InDelta(t, 0.5, *tr.FailureRate.Value, 1e-9)

		st, err := svc.EventStats(context.Background(), analytics.EventFilter{From: now.Add(-time.Hour), To: now, Families: []string{"transfer"}, Granularity: analytics.Hour})
		require.NoError(t, err)
		require.Equal(t, 9.0, st.Events.Value)
		require.Len(t, st.Topics, 2)
		require.Equal(t, "customer_transfer_created", st.Topics[0].Topic)
		require.Len(t, st.Topics[0].Series, len(st.Series))
		var sum int64
		for _, n := range st.Topics[0].Series {
			sum += n
		}
		require.Equal(t, int64(6), sum)
		st, err = svc.EventStats(context.Background(), analytics.EventFilter{From: now.Add(-time.Hour), To: now, Topics: []string{"customer_created"}})
		require.NoError(t, err)
		require.Zero(t, st.Events.Value)
		require.Empty(t, st.Topics)
	})
}

func TestSummariesAndMetrics(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		reg := prometheus.NewRegistry()
		svc, err := analytics.New(db, analytics.Options{Now: func() time.Time { return now }, Registerer: reg})
		require.NoError(t, err)
		_, err = analytics.New(db, analytics.Options{Registerer: reg})
		require.NoError(t, err, "a second service on the same registry shares its collectors")

		statuses := []journeyinstance.Status{"active", "active", "stuck", "completed", "completed", "completed", "failed", "abandoned"}
		for i, st := range statuses {
			c := db.Client.JourneyInstance.Create().SetDefinitionKey("transfer").SetDefinitionVersion(1).
				SetCorrelationKey(fmt.Sprintf("k%d", i)).SetStatus(st).SetStartedAt(now.Add(-time.Hour)).SetLastEventAt(now.Add(-time.Duration(i) * time.Minute))
			if st == "completed" {
				c.SetDurationMs(float64(1000 * (i + 1))).SetEndedAt(now)
			}
			if st == "stuck" {
				c.SetStuckSince(now.Add(-10 * time.Minute))
			}
			require.NoError(t, c.Exec(ctx))
		}
		js, err := svc.JourneySummary(ctx, analytics.JourneyFilter{})
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"active": 2, "stuck": 1, "completed": 3, "failed": 1, "abandoned": 1}, js.ByStatus)
		require.Len(t, js.ByDefinition, 1)
		require.InDelta(t, 3.0/5, *js.ByDefinition[0].SuccessRate, 1e-9)
		require.InDelta(t, 5000, *js.ByDefinition[0].AvgDurationMS, 1e-9)
		require.Equal(t, analytics.JourneyCounts{Active: 2, Stuck: 1}, js.Open)
		require.Len(t, js.Active, 2)
		require.Len(t, js.Stuck, 1)
		_, err = svc.JourneySummary(ctx, analytics.JourneyFilter{Statuses: []string{"lost"}})
		require.Error(t, err)

		for i, sev := range []anomaly.Severity{"warning", "critical", "critical", "info"} {
			st := anomaly.StatusOpen
			if i == 3 {
				st = anomaly.StatusResolved
			}
			c := db.Client.Anomaly.Create().SetKey(fmt.Sprintf("volume_spike:f%d", i)).SetType("volume_spike").SetSubject(fmt.Sprintf("f%d", i)).
				SetSeverity(sev).SetStatus(st).SetWindowStart(now).SetWindowEnd(now).SetObserved(10).SetExpected(2).SetScore(6).
				SetExplanation("more").SetFirstSeenAt(now.Add(-time.Duration(i) * time.Minute)).SetLastSeenAt(now)
			if st == anomaly.StatusResolved {
				c.SetResolvedAt(now.Add(-time.Minute)).SetResolvedBy("auto")
			}
			require.NoError(t, c.Exec(ctx))
		}
		as, err := svc.AnomalySummary(ctx, analytics.AnomalyFilter{})
		require.NoError(t, err)
		require.Equal(t, int64(3), as.Open)
		require.Equal(t, int64(2), as.Critical)
		require.Equal(t, int64(1), as.ResolvedLast24h)
		require.Equal(t, map[string]int64{"volume_spike": 3}, as.ByType)
		require.Len(t, as.Anomalies, 3)
		as, err = svc.AnomalySummary(ctx, analytics.AnomalyFilter{Statuses: []string{"resolved"}})
		require.NoError(t, err)
		require.Len(t, as.Anomalies, 1)

		for i, score := range []float64{91, 97} {
			r := db.Client.ReconciliationRun.Create().SetStatus(reconciliationrun.StatusSucceeded).SetWindowStart(now.Add(-time.Hour)).
				SetWindowEnd(now).SetHealthScore(score).SetStartedAt(now.Add(time.Duration(i-3) * time.Minute)).SetFinishedAt(now).SaveX(ctx)
			db.Client.ReconciliationFinding.Create().SetRunID(r.ID).SetKind(reconciliationfinding.KindMissingEvent).
				SetSubject(fmt.Sprintf("ev-%d", i)).SetDetail("missing").ExecX(ctx)
		}
		db.Client.ReconciliationRun.Create().SetWindowStart(now).SetWindowEnd(now).ExecX(ctx) // running, no score yet
		rs, err := svc.ReconciliationSummary(ctx, analytics.ReconciliationFilter{})
		require.NoError(t, err)
		require.Equal(t, 97.0, *rs.HealthScore)
		require.Equal(t, "running", rs.LatestRun.Status)
		require.Len(t, rs.Runs, 3)
		require.Equal(t, int64(2), rs.OpenFindings)
		require.Len(t, rs.Findings, 2)

		// REST serves the same summaries.
		srv := httptest.NewServer(analytics.NewHandler(svc, nil))
		defer srv.Close()
		var viaREST map[string]any
		getJSON(t, srv.URL+"/api/analytics/journeys?status=active,stuck", &viaREST)
		require.Equal(t, map[string]any{"active": 2.0, "stuck": 1.0}, viaREST["byStatus"])
		getJSON(t, srv.URL+"/api/analytics/anomalies?severity=critical", &viaREST)
		require.Len(t, viaREST["anomalies"], 2)
		getJSON(t, srv.URL+"/api/analytics/reconciliation?kind=missing_event&limit=1", &viaREST)
		require.Len(t, viaREST["findings"], 1)
		require.Equal(t, 97.0, viaREST["healthScore"])

		// Gauges for journeys by status and open anomalies by severity.
		require.NoError(t, testutil.GatherAndCompare(reg, stringsReader(`
# HELP hooklens_anomalies_open Anomalies open or acknowledged, by severity (info, warning, critical).
# TYPE hooklens_anomalies_open gauge
hooklens_anomalies_open{severity="critical"} 2
hooklens_anomalies_open{severity="info"} 0
hooklens_anomalies_open{severity="warning"} 1
# HELP hooklens_journeys Journeys by status (active, completed, failed, stuck, abandoned).
# TYPE hooklens_journeys gauge
hooklens_journeys{status="abandoned"} 1
hooklens_journeys{status="active"} 2
hooklens_journeys{status="completed"} 3
hooklens_journeys{status="failed"} 1
hooklens_journeys{status="stuck"} 1
`), "hooklens_journeys", "hooklens_anomalies_open"))
	})
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
