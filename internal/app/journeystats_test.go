package app_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
)

// transferCase is one transfer's webhooks, shaped as Dwolla sends them
// (REFERENCE.md §3: created means pending; completed cleared; cancelled
// stopped before export; failed an ACH return, whose code — R01, R03,
// R01-late — Dwolla serves at GET /transfers/{id}/failure, not in the
// webhook).
type transferCase struct {
	name  string
	steps []scripted
	// want: status, outcome and end topic.
	status, outcome, endTopic string
}

// Every surface answers the same journey statistics for the same period:
// GraphQL journeyStats, the REST journey summary and the CSV export. A
// transfer whose created webhook was never seen is complete but of unknown
// duration: left out of the times and counted as left out. One that began
// and ended within one millisecond took 0 s, which counts. And how each
// ended is told apart: cancelled, failed, returned after it cleared.
func TestJourneyStatsAgreeOnEverySurface(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tr := func(n int) string { return fmt.Sprintf("transfers/7a000000-0000-4000-8000-%012d", n) }
	cases := []transferCase{
		{"one day", []scripted{{"customer_transfer_created", tr(1), 0}, {"customer_transfer_completed", tr(1), day}},
			"completed", "completed", "customer_transfer_completed"},
		{"three days", []scripted{{"customer_transfer_created", tr(2), 0}, {"customer_transfer_completed", tr(2), 3 * day}},
			"completed", "completed", "customer_transfer_completed"},
		{"balance to balance, instant", []scripted{{"customer_transfer_created", tr(3), 0}, {"customer_transfer_completed", tr(3), 0}},
			"completed", "completed", "customer_transfer_completed"},
		{"created never seen", []scripted{{"customer_transfer_completed", tr(4), 0}},
			"completed", "completed", "customer_transfer_completed"},
		{"cancelled before export", []scripted{{"customer_transfer_created", tr(5), 0}, {"customer_transfer_cancelled", tr(5), time.Hour}},
			"failed", "cancelled", "customer_transfer_cancelled"},
		{"R01 return before it cleared", []scripted{{"customer_transfer_created", tr(6), 0}, {"customer_transfer_failed", tr(6), 2 * day}},
			"failed", "failed", "customer_transfer_failed"},
		{"R01-late return after it cleared", []scripted{{"customer_transfer_created", tr(7), 0},
			{"customer_transfer_completed", tr(7), day}, {"customer_transfer_failed", tr(7), 5 * day}},
			"failed", "returned", "customer_transfer_failed"},
		{"bank push from a short balance", []scripted{{"customer_bank_transfer_creation_failed", tr(8), 0}},
			"failed", "creation_failed", "customer_bank_transfer_creation_failed"},
	}
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			start := time.Now().UTC().Add(-20 * day).Truncate(time.Millisecond)
			var bodies [][]byte
			for i, c := range cases {
				bodies = append(bodies, scriptBodies(fmt.Sprintf("c5000000-0000-4000-8000-%012d", i), start, c.steps)...)
			}
			deliverAll(t, s, bodies, 4)
			allProcessed(t, s)

			var js struct {
				Journeys struct {
					Edges []struct {
						Node struct {
							DefinitionKey  string   `json:"definitionKey"`
							CorrelationKey string   `json:"correlationKey"`
							Status         string   `json:"status"`
							Outcome        *string  `json:"outcome"`
							EndTopic       *string  `json:"endTopic"`
							DurationMs     *float64 `json:"durationMs"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"journeys"`
			}
			s.MustGraphQL(`{ journeys(first: 50) { edges { node { definitionKey correlationKey status outcome endTopic durationMs } } } }`, nil, &js)
			require.Len(t, js.Journeys.Edges, len(cases))
			byKey := map[string]int{}
			for i := range cases {
				byKey[fmt.Sprintf("7a000000-0000-4000-8000-%012d", i+1)] = i
			}
			for _, e := range js.Journeys.Edges {
				n := e.Node
				c := cases[byKey[n.CorrelationKey]]
				require.Equal(t, c.status, n.Status, c.name)
				require.NotNil(t, n.Outcome, c.name)
				require.Equal(t, c.outcome, *n.Outcome, c.name)
				require.NotNil(t, n.EndTopic, c.name)
				require.Equal(t, c.endTopic, *n.EndTopic, c.name)
				switch c.name {
				case "created never seen":
					require.Nil(t, n.DurationMs, "unknown, not 0")
				case "balance to balance, instant":
					require.NotNil(t, n.DurationMs, "0 s is a known duration")
					require.Zero(t, *n.DurationMs)
				}
			}

			from, to := start.Add(-time.Hour), start.Add(time.Hour)
			// The transfer journey: 7 instances, 4 completed of which one
			// of unknown duration; times 0, 1 d, 3 d.
			var gql struct {
				JourneyStats struct {
					Instances int `json:"instances"`
					ByStatus  []struct {
						Status string `json:"status"`
						Count  int    `json:"count"`
					} `json:"byStatus"`
					ByOutcome []struct {
						Outcome string `json:"outcome"`
						Count   int    `json:"count"`
					} `json:"byOutcome"`
					SuccessRate *float64 `json:"successRate"`
					Completion  struct {
						Count      int      `json:"count"`
						AvgSeconds *float64 `json:"avgSeconds"`
						P50Seconds *float64 `json:"p50Seconds"`
						P90Seconds *float64 `json:"p90Seconds"`
						Unknown    int      `json:"unknown"`
					} `json:"completion"`
				} `json:"journeyStats"`
			}
			s.MustGraphQL(`query($from: Time, $to: Time) { journeyStats(definition: "transfer", from: $from, to: $to) {
				instances byStatus { status count } byOutcome { outcome count } successRate
				completion { count avgSeconds p50Seconds p90Seconds unknown } } }`,
				map[string]any{"from": from, "to": to}, &gql)
			g := gql.JourneyStats
			require.Equal(t, 7, g.Instances)
			outcomes := map[string]int{}
			for _, o := range g.ByOutcome {
				outcomes[o.Outcome] = o.Count
			}
			require.Equal(t, map[string]int{"completed": 4, "cancelled": 1, "failed": 1, "returned": 1}, outcomes)
			require.Equal(t, 3, g.Completion.Count)
			require.Equal(t, 1, g.Completion.Unknown, "the transfer whose start was never seen is left out, and said")
			require.InDelta(t, (4*day).Seconds()/3, *g.Completion.AvgSeconds, 0.001)
			require.Equal(t, day.Seconds(), *g.Completion.P50Seconds)
			require.Equal(t, (3 * day).Seconds(), *g.Completion.P90Seconds)
			require.NotNil(t, g.SuccessRate)
			require.InDelta(t, 4.0/7, *g.SuccessRate, 1e-9)

			// REST: the same figures from the same query.
			q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
			resp, err := s.Client.Do(mustReq(t, http.MethodGet, s.URL+"/api/analytics/journeys?"+q.Encode(), s.Viewer))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var rest struct {
				ByDefinition []struct {
					Definition    string           `json:"definition"`
					Total         int              `json:"total"`
					ByOutcome     map[string]int   `json:"byOutcome"`
					SuccessRate   *float64         `json:"successRate"`
					AvgDurationMS *float64         `json:"avgDurationMs"`
					Completion    map[string]any   `json:"completion"`
					ByStatus      map[string]int64 `json:"byStatus"`
				} `json:"byDefinition"`
			}
			apptest.ReadJSON(t, resp, &rest)
			found := false
			for _, d := range rest.ByDefinition {
				if d.Definition != "transfer" {
					continue
				}
				found = true
				require.Equal(t, g.Instances, d.Total)
				require.Equal(t, outcomes, d.ByOutcome)
				require.InDelta(t, *g.SuccessRate, *d.SuccessRate, 1e-9)
				require.InDelta(t, *g.Completion.AvgSeconds*1000, *d.AvgDurationMS, 0.001)
				require.Equal(t, float64(g.Completion.Count), d.Completion["count"])
				require.Equal(t, float64(g.Completion.Unknown), d.Completion["unknown"])
				require.InDelta(t, *g.Completion.P50Seconds*1000, d.Completion["p50Ms"], 0.001)
				require.InDelta(t, *g.Completion.P90Seconds*1000, d.Completion["p90Ms"], 0.001)
				for _, st := range g.ByStatus {
					require.Equal(t, int64(st.Count), d.ByStatus[st.Status], st.Status)
				}
			}
			require.True(t, found, "REST lists the transfer journeys: %+v", rest.ByDefinition)

			// The export carries the same durations and outcomes.
			q.Set("type", "journeys")
			q.Set("definition", "transfer")
			resp, err = s.Client.Do(mustReq(t, http.MethodGet, s.URL+"/api/analytics/export?"+q.Encode(), s.Viewer))
			require.NoError(t, err)
			defer resp.Body.Close()
			recs, err := csv.NewReader(resp.Body).ReadAll()
			require.NoError(t, err)
			require.Len(t, recs, 8, "a header and seven transfers")
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			var sum float64
			measured, unknown, exported := 0, 0, map[string]int{}
			for _, r := range recs[1:] {
				exported[r[col["outcome"]]]++
				if r[col["status"]] != "completed" {
					continue
				}
				if r[col["durationMs"]] == "" {
					unknown++
					continue
				}
				var ms float64
				_, err := fmt.Sscan(r[col["durationMs"]], &ms)
				require.NoError(t, err)
				sum += ms
				measured++
			}
			require.Equal(t, outcomes, exported)
			require.Equal(t, g.Completion.Count, measured)
			require.Equal(t, g.Completion.Unknown, unknown)
			require.InDelta(t, *g.Completion.AvgSeconds*1000, sum/float64(measured), 0.001)
		})
	}
}

// A journey's events come in Dwolla's created order, read by their ids.
func TestJourneyEvents(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
			res := "transfers/7e000000-0000-4000-8000-000000000001"
			bodies := scriptBodies("c7000000-0000-4000-8000-000000000001", start, []scripted{
				{"customer_transfer_created", res, 0}, {"customer_transfer_completed", res, time.Minute},
			})
			deliverAll(t, s, [][]byte{bodies[1], bodies[0]}, 1)
			// Unrelated events the journey must not list.
			deliverAll(t, s, scriptBodies("c7000000-0000-4000-8000-000000000002", start, []scripted{
				{"customer_transfer_created", "transfers/7e000000-0000-4000-8000-000000000002", 0}}), 1)
			allProcessed(t, s)
			var got struct {
				Journeys struct {
					Edges []struct {
						Node struct {
							Events []struct {
								EventID string `json:"eventID"`
							} `json:"events"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"journeys"`
			}
			s.MustGraphQL(`{ journeys(where: {correlationKey: "7e000000-0000-4000-8000-000000000001"}) { edges { node { events { eventID } } } } }`, nil, &got)
			require.Len(t, got.Journeys.Edges, 1)
			ev := got.Journeys.Edges[0].Node.Events
			require.Len(t, ev, 2)
			require.Equal(t, "c7000000-0000-4000-8000-000000000001-00", ev[0].EventID)
			require.Equal(t, "c7000000-0000-4000-8000-000000000001-01", ev[1].EventID)
		})
	}
}
