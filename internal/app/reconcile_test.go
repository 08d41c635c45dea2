package app_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/fakedwolla"
)

func withFakeDwolla(t *testing.T) (*fakedwolla.Server, *apptest.Server) {
	t.Helper()
	fake, err := fakedwolla.NewServer("", fakedwolla.Options{Key: "k", Secret: "s", Seed: 7, Logger: apptest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(fake.Close)
	s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) {
		c.DwollaAPIURL, c.DwollaKey, c.DwollaSecret = fake.URL, "k", "s"
		c.SyncSchedule, c.ReconcileSchedule = "off", "off"
	}})
	return fake, s
}

// Sync and reconciliation through GraphQL and REST, watched live.
func TestSyncAndReconcileAPI(t *testing.T) {
	t.Parallel()
	fake, s := withFakeDwolla(t)
	for i := 0; i < 60; i++ {
		_, err := fake.Emit("customer_created", fakedwolla.Resource("customers", "c"+string(rune('a'+i%26))+"000000-0000-4000-8000-00000000000"+string(rune('0'+i%10))))
		require.NoError(t, err)
	}

	// Not subscribed yet: dwollaStatus says so.
	var st struct {
		DwollaStatus struct {
			Configured   bool    `json:"configured"`
			Error        *string `json:"error"`
			Subscription *struct {
				Paused bool `json:"paused"`
			} `json:"subscription"`
		} `json:"dwollaStatus"`
	}
	s.MustGraphQL(`{ dwollaStatus { configured error subscription { paused } } }`, nil, &st)
	require.True(t, st.DwollaStatus.Configured)
	require.Nil(t, st.DwollaStatus.Subscription)
	require.NotNil(t, st.DwollaStatus.Error)

	ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"token": s.Viewer})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.SubscribeWait("p", `subscription { syncProgress { id status imported } }`, nil)

	// Viewers cannot start a sync, over REST either.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/webhooks/dwolla/sync", bytes.NewReader([]byte(`{"window":"1h"}`)))
	req.Header.Set("Authorization", "Bearer "+s.Viewer)
	resp, err := s.Client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp.Body.Close()

	req, _ = http.NewRequest(http.MethodPost, s.URL+"/api/webhooks/dwolla/sync", bytes.NewReader([]byte(`{"window":"1h"}`)))
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	resp, err = s.Client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var started struct {
		SyncRun struct {
			ID     int    `json:"id"`
			Status string `json:"status"`
		} `json:"syncRun"`
	}
	apptest.ReadJSON(t, resp, &started)
	require.Equal(t, "running", started.SyncRun.Status)

	var prog struct {
		SyncProgress struct {
			Status   string `json:"status"`
			Imported int    `json:"imported"`
		} `json:"syncProgress"`
	}
	for prog.SyncProgress.Status != "succeeded" {
		ws.NextData(10*time.Second, &prog)
		require.NotEqual(t, "failed", prog.SyncProgress.Status)
	}
	require.Equal(t, 60, prog.SyncProgress.Imported)

	resp, err = s.Client.Do(mustReq(t, http.MethodGet, s.URL+"/api/webhooks/dwolla/sync", s.Viewer))
	require.NoError(t, err)
	var status struct {
		Configured bool `json:"configured"`
		Recent     []struct {
			Imported int    `json:"imported"`
			Status   string `json:"status"`
		} `json:"recent"`
	}
	apptest.ReadJSON(t, resp, &status)
	require.True(t, status.Configured)
	require.Equal(t, 60, status.Recent[0].Imported)

	// A reconciliation: nothing missing now, but no subscription delivers
	// here, which is a critical finding and costs health.
	var rec struct {
		RunReconciliation struct{ ID string } `json:"runReconciliation"`
	}
	s.MustGraphQL(`mutation { runReconciliation(window: "1h") { id } }`, nil, &rec)
	var health struct {
		Health struct {
			Score      *float64 `json:"score"`
			Components []struct {
				Name      string  `json:"name"`
				Score     float64 `json:"score"`
				Available bool    `json:"available"`
			} `json:"components"`
			OpenFindings []struct {
				Kind  string `json:"kind"`
				Count int    `json:"count"`
			} `json:"openFindings"`
		} `json:"health"`
	}
	require.Eventually(t, func() bool {
		s.MustGraphQL(`{ health { score components { name score available } openFindings { kind count } } }`, nil, &health)
		return health.Health.Score != nil
	}, 10*time.Second, 50*time.Millisecond)
	require.Less(t, *health.Health.Score, 100.0)
	require.Equal(t, []struct {
		Kind  string `json:"kind"`
		Count int    `json:"count"`
	}{{"subscription_paused", 1}}, health.Health.OpenFindings)

	var findings struct {
		ReconciliationFindings struct {
			Edges []struct {
				Node struct {
					ID     string `json:"id"`
					Kind   string `json:"kind"`
					Status string `json:"status"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"reconciliationFindings"`
	}
	s.MustGraphQL(`{ reconciliationFindings(where: {status: open}) { edges { node { id kind status } } } }`, nil, &findings)
	require.Len(t, findings.ReconciliationFindings.Edges, 1)
	r := s.GraphQL(s.Viewer, `mutation($id: ID!) { resolveFinding(id: $id, note: "x") { status } }`, map[string]any{"id": findings.ReconciliationFindings.Edges[0].Node.ID})
	require.Equal(t, http.StatusForbidden, r.Status)
	var resolved struct {
		ResolveFinding struct {
			Status         string `json:"status"`
			ResolutionNote string `json:"resolutionNote"`
			ResolvedBy     string `json:"resolvedBy"`
		} `json:"resolveFinding"`
	}
	s.MustGraphQL(`mutation($id: ID!) { resolveFinding(id: $id, note: "we use a different endpoint") { status resolutionNote resolvedBy } }`,
		map[string]any{"id": findings.ReconciliationFindings.Edges[0].Node.ID}, &resolved)
	require.Equal(t, "resolved", resolved.ResolveFinding.Status)
	require.Equal(t, "test admin", resolved.ResolveFinding.ResolvedBy)
}

func mustReq(t *testing.T, method, url, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
