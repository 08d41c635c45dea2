package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

func eventBody(id, topic, corr string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"topic":%q,"created":"%s","resourceId":"11111111-2222-3333-4444-555555555555",`+
		`"correlationId":%q,"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/11111111-2222-3333-4444-555555555555"},`+
		`"customer":{"href":"https://api-sandbox.dwolla.com/customers/aaaaaaaa-2222-3333-4444-555555555555"}}}`,
		id, topic, time.Now().UTC().Add(-2*time.Second).Format(time.RFC3339Nano), corr)
}

var trafficTopics = []string{
	"customer_transfer_created", "customer_transfer_created", "customer_transfer_completed", "customer_transfer_failed",
	"customer_bank_transfer_created", "customer_bank_transfer_completed", "customer_microdeposits_added",
	"customer_microdeposits_failed", "customer_created", "customer_verified", "customer_suspended", "some_new_topic",
}

// traffic delivers n events, a share of them twice, plus rejections, to s
// and waits until every event is processed.
func traffic(t *testing.T, s *apptest.Server, n int) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(uint64(n), 7))
	for i := 0; i < n; i++ {
		body := eventBody(fmt.Sprintf("ev-%05d", i), trafficTopics[rnd.IntN(len(trafficTopics))], fmt.Sprintf("corr-%d", i%9))
		for d := 0; d < 1+boolInt(i%4 == 0); d++ {
			resp := s.Deliver(body)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		if i%10 == 0 {
			resp := s.DeliverSigned(body, dwolla.Sign([]byte("wrong"), body), nil)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		}
		if i%25 == 0 {
			bad := []byte(`{"not":"an event"}`)
			resp := s.DeliverSigned(bad, dwolla.Sign([]byte(apptest.Secret), bad), nil)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}
	}
	waitIdle(t, s.App.DB)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func waitIdle(t *testing.T, db *store.DB) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'queued'").Scan(&n))
		return n == 0
	}, 30*time.Second, 20*time.Millisecond)
}

func count(t *testing.T, db *store.DB, q string, args ...any) float64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Read.QueryRow(db.Rebind(q), args...).Scan(&n))
	return float64(n)
}

// TestOverviewMatchesRawCounts delivers traffic with duplicates and
// rejections, replays part of it, and checks every overview figure against
// counts taken straight from webhook_events and webhook_deliveries; then
// that REST answers the same as the Go API.
func TestOverviewMatchesRawCounts(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			db := s.App.DB
			start := time.Now().UTC()
			traffic(t, s, 160)

			// Replay a topic in bulk and one event alone: re-processed, never re-counted.
			var job struct {
				ReplayEvents struct{ ID string } `json:"replayEvents"`
			}
			s.MustGraphQL(`mutation { replayEvents(where: {topic: "customer_transfer_created"}) { id } }`, nil, &job)
			require.Eventually(t, func() bool {
				var j struct {
					Node struct{ Status string } `json:"node"`
				}
				s.MustGraphQL(`query($id: ID!) { node(id: $id) { ... on Job { status } } }`, map[string]any{"id": job.ReplayEvents.ID}, &j)
				require.NotEqual(t, "failed", j.Node.Status)
				return j.Node.Status == "succeeded"
			}, 30*time.Second, 50*time.Millisecond)
			var one struct {
				Event struct{ ID string } `json:"event"`
			}
			s.MustGraphQL(`{ event(eventID: "ev-00003") { id } }`, nil, &one)
			s.MustGraphQL(`mutation($id: ID!) { replayEvent(id: $id) { eventID } }`, map[string]any{"id": one.Event.ID}, nil)
			waitIdle(t, db)

			// Deliveries reach the rollups through the aggregator.
			_, err := rollup.NewAggregator(db, nil, rollup.AggregatorOptions{Margin: -time.Minute}).Flush(context.Background())
			require.NoError(t, err)

			svc, err := analytics.New(db, analytics.Options{})
			require.NoError(t, err)
			from, to := start.Add(-time.Minute), time.Now().UTC().Add(time.Minute)
			o, err := svc.Overview(context.Background(), from, to, "")
			require.NoError(t, err)

			ev := count(t, db, "SELECT COUNT(*) FROM webhook_events")
			require.Equal(t, float64(160), ev)
			require.Equal(t, ev, o.Events.Value)
			require.Zero(t, o.Events.Previous)
			require.Nil(t, o.Events.Change)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE outcome IN ('accepted', 'duplicate')"), o.Deliveries.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE outcome = 'duplicate'"), o.DuplicateDeliveries.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE outcome = 'accepted'"), o.UniqueDeliveries.Value)
			require.Equal(t, count(t, db, "SELECT SUM(delivery_count) - COUNT(*) FROM webhook_events"), o.DuplicateDeliveries.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE outcome NOT IN ('accepted', 'duplicate')"), o.RejectedDeliveries.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE outcome = 'bad_signature'"), o.BadSignatures.Value)
			require.Equal(t, float64(16), o.BadSignatures.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM event_queue WHERE state = 'processed'"), o.Processed.Value)
			require.Zero(t, o.DeadLettered.Value)
			require.Zero(t, o.Waiting.Value)
			require.Equal(t, 1.0, *o.ProcessingSuccessRate.Value)
			require.Zero(t, *o.ProcessingFailureRate.Value)
			require.Nil(t, o.ProcessingSuccessRate.Previous, "nothing to measure before")
			require.Equal(t, o.Processed.Value, o.ProcessingLatency.Count.Value)
			require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_events WHERE source = 'webhook'"), o.DeliveryLag.Count.Value)
			require.NotNil(t, o.ProcessingLatency.P95MS.Value)
			require.LessOrEqual(t, *o.ProcessingLatency.P50MS.Value, *o.ProcessingLatency.P95MS.Value)
			require.LessOrEqual(t, *o.ProcessingLatency.P95MS.Value, *o.ProcessingLatency.P99MS.Value)
			require.InDelta(t, ev/to.Truncate(time.Minute).Add(time.Minute).Sub(from.Truncate(time.Minute)).Minutes(), o.EventsPerMinute.Value, 1e-9)

			// Per topic, per resource, per family, per point.
			byTopic := map[string]float64{}
			var sum float64
			for _, ts := range o.ByTopic {
				byTopic[ts.Topic] = ts.Events.Value
				sum += ts.Share
				require.Equal(t, count(t, db, "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.webhook_event_id WHERE e.topic = ?", ts.Topic), float64(ts.Deliveries))
			}
			require.InDelta(t, 1, sum, 1e-9)
			rows, err := db.Read.Query("SELECT topic, COUNT(*) FROM webhook_events GROUP BY topic")
			require.NoError(t, err)
			raw := map[string]float64{}
			for rows.Next() {
				var topic string
				var n float64
				require.NoError(t, rows.Scan(&topic, &n))
				raw[topic] = n
			}
			require.NoError(t, rows.Close())
			require.Equal(t, raw, byTopic)
			require.False(t, topicKnown(o.ByTopic, "some_new_topic"))

			var res float64
			for _, r := range o.ByResourceType {
				res += r.Events.Value
			}
			require.Equal(t, ev, res)

			rates := map[string]analytics.BusinessRate{}
			for _, r := range o.BusinessRates {
				rates[r.Family] = r
			}
			tr := rates["transfer"]
			require.Equal(t, raw["customer_transfer_created"], tr.Created.Value)
			require.Equal(t, raw["customer_transfer_failed"], tr.Failed.Value)
			require.Equal(t, raw["customer_transfer_completed"], tr.Succeeded.Value)
			require.InDelta(t, raw["customer_transfer_failed"]/raw["customer_transfer_created"], *tr.FailureRate.Value, 1e-9)
			md := rates["microdeposits"]
			require.Equal(t, raw["customer_microdeposits_added"], md.Created.Value)
			require.Equal(t, raw["customer_microdeposits_failed"], md.Failed.Value)
			cv := rates["customer_verification"]
			require.Equal(t, raw["customer_created"], cv.Created.Value)
			require.Equal(t, raw["customer_suspended"], cv.Failed.Value)

			var points, dups float64
			for _, p := range o.Series {
				points += float64(p.Events)
				dups += float64(p.Duplicates)
			}
			require.Equal(t, ev, points)
			require.Equal(t, o.DuplicateDeliveries.Value, dups)
			require.Equal(t, analytics.Minute, o.Granularity)

			// REST answers what the Go API answers.
			srv := httptest.NewServer(analytics.NewHandler(svc, nil))
			defer srv.Close()
			q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
			var viaREST, viaGo map[string]any
			getJSON(t, srv.URL+"/api/analytics/overview?"+q.Encode(), &viaREST)
			o2, err := svc.Overview(context.Background(), from, to, "")
			require.NoError(t, err)
			roundTrip(t, o2, &viaGo)
			delete(viaREST, "queue")
			delete(viaGo, "queue") // the oldest queued age moves with the clock
			requireClose(t, viaGo, viaREST, "overview")

			q.Set("topicPrefix", "customer_transfer_")
			var stREST, stGo map[string]any
			getJSON(t, srv.URL+"/api/analytics/events?"+q.Encode(), &stREST)
			st, err := svc.EventStats(context.Background(), analytics.EventFilter{From: from, To: to, TopicPrefix: "customer_transfer_"})
			require.NoError(t, err)
			roundTrip(t, st, &stGo)
			requireClose(t, stGo, stREST, "eventStats")
			require.Equal(t, raw["customer_transfer_created"]+raw["customer_transfer_completed"]+raw["customer_transfer_failed"], st.Events.Value)
		})
	}
}

func topicKnown(ts []analytics.TopicStats, topic string) bool {
	for _, x := range ts {
		if x.Topic == topic {
			return x.Known
		}
	}
	return true
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.NoError(t, json.Unmarshal(raw, v))
}

func roundTrip(t *testing.T, in, out any) {
	t.Helper()
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out))
}

// requireClose compares decoded JSON values, floats to a relative 1e-9:
// sums of floats depend on the order the database adds rows.
func requireClose(t *testing.T, want, got any, path string) {
	t.Helper()
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		require.True(t, ok, "%s: %v is not a number", path, got)
		require.InDelta(t, w, g, 1e-9*math.Max(1, math.Abs(w)), path)
	case map[string]any:
		g, ok := got.(map[string]any)
		require.True(t, ok, "%s: %v is not an object", path, got)
		require.Len(t, g, len(w), path)
		for k, e := range w {
			requireClose(t, e, g[k], path+"."+k)
		}
	case []any:
		g, ok := got.([]any)
		require.True(t, ok, "%s: %v is not an array", path, got)
		require.Len(t, g, len(w), path)
		for i, e := range w {
			requireClose(t, e, g[i], fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		require.Equal(t, want, got, path)
	}
}
