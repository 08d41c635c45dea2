package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/rollup"
)

func TestAnalyticsAPI(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	var bodies [][]byte
	for i := 0; i < 40; i++ {
		topic := "customer_transfer_created"
		if i%4 == 0 {
			topic = "customer_transfer_failed"
		}
		bodies = append(bodies, eventBody(fmt.Sprintf("an-%02d", i), topic))
	}
	bodies = append(bodies, eventBody("an-01", "customer_transfer_created")) // a duplicate
	deliverAll(t, s, bodies, 4)
	allProcessed(t, s)
	// Count the deliveries into the rollups now instead of after the margin.
	_, err := rollup.NewAggregator(s.App.DB, nil, rollup.AggregatorOptions{Margin: -time.Second}).Flush(context.Background())
	require.NoError(t, err)

	var ov struct {
		Overview struct {
			Events              struct{ Value float64 } `json:"events"`
			Deliveries          struct{ Value float64 } `json:"deliveries"`
			DuplicateDeliveries struct{ Value float64 } `json:"duplicateDeliveries"`
			Processed           struct{ Value float64 } `json:"processed"`
			ProcessingLatency   struct {
				P99Ms struct{ Value *float64 } `json:"p99Ms"`
			} `json:"processingLatency"`
			BusinessRates []struct {
				Family string `json:"family"`
				Failed struct{ Value float64 }
			} `json:"businessRates"`
			ByTopic []struct {
				Topic  string `json:"topic"`
				Events struct{ Value float64 }
			} `json:"byTopic"`
			Series []struct{ Events int } `json:"series"`
			Queue  struct{ Depth int }    `json:"queue"`
		} `json:"overview"`
	}
	s.MustGraphQL(`{ overview { events { value } deliveries { value } duplicateDeliveries { value } processed { value }
		processingLatency { p99Ms { value } } businessRates { family failed { value } } byTopic { topic events { value } }
		series { events } queue { depth } } }`, nil, &ov)
	var raw int
	require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM webhook_events").Scan(&raw))
	require.Equal(t, float64(raw), ov.Overview.Events.Value, "the overview matches the events table")
	require.Equal(t, 41.0, ov.Overview.Deliveries.Value)
	require.Equal(t, 1.0, ov.Overview.DuplicateDeliveries.Value)
	require.Equal(t, 40.0, ov.Overview.Processed.Value)
	require.NotNil(t, ov.Overview.ProcessingLatency.P99Ms.Value)
	total := 0
	for _, p := range ov.Overview.Series {
		total += p.Events
	}
	require.Equal(t, 40, total)

	var es struct {
		EventStats struct {
			Events struct{ Value float64 } `json:"events"`
			Topics []struct {
				Topic  string  `json:"topic"`
				Series []int64 `json:"series"`
			} `json:"topics"`
		} `json:"eventStats"`
	}
	s.MustGraphQL(`{ eventStats(filter: {topics: ["customer_transfer_failed"]}) { events { value } topics { topic series } } }`, nil, &es)
	require.Equal(t, 10.0, es.EventStats.Events.Value)
	require.Len(t, es.EventStats.Topics, 1)

	// REST twins, behind auth.
	resp, err := s.Client.Get(s.URL + "/api/analytics/events")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = s.Client.Do(mustReq(t, http.MethodGet, s.URL+"/api/analytics/events?topic=customer_transfer_failed", s.Viewer))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	resp, err = s.Client.Do(mustReq(t, http.MethodGet, s.URL+"/api/analytics/export?type=events&format=csv&topic=customer_transfer_failed", s.Viewer))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	require.NoError(t, err)
	require.Len(t, rows, 11, "a header and the ten failed transfers")

	// Anomalies: acknowledged and resolved by admins, streamed live.
	now := time.Now().UTC()
	an, err := s.App.DB.Client.Anomaly.Create().SetKey("volume_spike:transfer").SetType("volume_spike").SetSubject("transfer").
		SetSeverity(anomaly.SeverityWarning).SetWindowStart(now.Add(-5 * time.Minute)).SetWindowEnd(now).
		SetObserved(400).SetExpected(90).SetScore(9).SetExplanation("transfer events 400/min vs 90").
		SetFirstSeenAt(now).SetLastSeenAt(now).Save(context.Background())
	require.NoError(t, err)
	ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"token": s.Viewer})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.SubscribeWait("an", `subscription { anomalyDetected { key status } }`, nil)
	r := s.GraphQL(s.Viewer, `mutation($id: ID!) { acknowledgeAnomaly(id: $id) { status } }`, map[string]any{"id": an.ID})
	require.Equal(t, http.StatusForbidden, r.Status)
	s.MustGraphQL(`mutation($id: ID!) { acknowledgeAnomaly(id: $id) { status } }`, map[string]any{"id": an.ID}, nil)
	var got struct {
		AnomalyDetected struct{ Key, Status string } `json:"anomalyDetected"`
	}
	ws.NextData(5*time.Second, &got)
	require.Equal(t, "acknowledged", got.AnomalyDetected.Status)
	var res struct {
		ResolveAnomaly struct {
			Status     string `json:"status"`
			ResolvedBy string `json:"resolvedBy"`
		} `json:"resolveAnomaly"`
	}
	s.MustGraphQL(`mutation($id: ID!) { resolveAnomaly(id: $id, note: "a planned batch") { status resolvedBy } }`, map[string]any{"id": an.ID}, &res)
	require.Equal(t, "resolved", res.ResolveAnomaly.Status)
	require.Equal(t, "test admin", res.ResolveAnomaly.ResolvedBy)
}
