package app_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
)

// An open silence anomaly written by an earlier version has expected_high
// = +Inf. It used to break the anomaly list everywhere: GraphQL answered
// "internal error" and REST 200 with an empty body. A start clears such
// bounds, and both surfaces list the anomaly.
func TestInfiniteAnomalyBoundIsListed(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := dbtest.URL(t, kind)
			first := apptest.Start(t, kind, apptest.Options{DatabaseURL: u})
			now := time.Now().UTC().Truncate(time.Second)
			_, err := first.App.DB.Write.ExecContext(context.Background(), first.App.DB.Rebind(`INSERT INTO anomalies
				(key, type, subject, severity, status, window_start, window_end, observed, expected, expected_low, expected_high,
				 score, explanation, first_seen_at, last_seen_at)
				VALUES ('silence:transfer', 'silence', 'transfer', 'warning', 'open', ?, ?, 0, 20, 12, ?, -4.9,
				 'no transfer events for 10 min', ?, ?)`),
				now.Add(-10*time.Minute), now, math.Inf(1), now, now)
			require.NoError(t, err)

			s := apptest.Start(t, kind, apptest.Options{DatabaseURL: u})
			var got struct {
				Anomalies struct {
					Edges []struct {
						Node struct {
							Type         string   `json:"type"`
							ExpectedLow  *float64 `json:"expectedLow"`
							ExpectedHigh *float64 `json:"expectedHigh"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"anomalies"`
			}
			s.MustGraphQL(`{ anomalies(first: 10) { edges { node { type expectedLow expectedHigh } } } }`, nil, &got)
			require.Len(t, got.Anomalies.Edges, 1)
			n := got.Anomalies.Edges[0].Node
			require.Equal(t, "silence", n.Type)
			require.Nil(t, n.ExpectedHigh, "a silence has no upper bound")
			require.NotNil(t, n.ExpectedLow)
			require.Equal(t, 12.0, *n.ExpectedLow)

			req, err := http.NewRequest(http.MethodGet, s.URL+"/api/analytics/anomalies", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+s.Viewer)
			resp, err := s.Client.Do(req)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var rest struct {
				Open      int64 `json:"open"`
				Anomalies []struct {
					Type         string   `json:"type"`
					ExpectedHigh *float64 `json:"expectedHigh"`
				} `json:"anomalies"`
			}
			apptest.ReadJSON(t, resp, &rest)
			require.Equal(t, int64(1), rest.Open)
			require.Len(t, rest.Anomalies, 1)
			require.Equal(t, "silence", rest.Anomalies[0].Type)
			require.Nil(t, rest.Anomalies[0].ExpectedHigh)
		})
	}
}
