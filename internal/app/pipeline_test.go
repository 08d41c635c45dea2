package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
)

func waitProcessed(t *testing.T, s *apptest.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		var c int
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'processed'").Scan(&c))
		return c == n
	}, 10*time.Second, 20*time.Millisecond)
}

func TestReplayAndJobs(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	for i := 0; i < 30; i++ {
		topic := "customer_transfer_created"
		if i%3 == 0 {
			topic = "customer_transfer_completed"
		}
		code, _ := receive(t, s, eventBody(fmt.Sprintf("rp-%02d", i), topic))
		require.Equal(t, http.StatusOK, code)
	}
	waitProcessed(t, s, 30)

	var st struct {
		SystemStatus struct {
			Breaker      string `json:"breaker"`
			QueueDepth   int    `json:"queueDepth"`
			DeadLettered int    `json:"deadLettered"`
			Workers      int    `json:"workers"`
			Leader       bool   `json:"schedulerLeader"`
		} `json:"systemStatus"`
	}
	s.MustGraphQL(`{ systemStatus { breaker queueDepth deadLettered workers schedulerLeader } }`, nil, &st)
	require.Equal(t, "closed", st.SystemStatus.Breaker)
	require.Zero(t, st.SystemStatus.QueueDepth)
	require.True(t, st.SystemStatus.Leader)
	require.Positive(t, st.SystemStatus.Workers)

	// One event, by node id; viewers may not.
	var ev struct {
		Event struct{ ID string } `json:"event"`
	}
	s.MustGraphQL(`{ event(eventID: "rp-01") { id } }`, nil, &ev)
	r := s.GraphQL(s.Viewer, `mutation($id: ID!) { replayEvent(id: $id) { processingState } }`, map[string]any{"id": ev.Event.ID})
	require.Equal(t, http.StatusForbidden, r.Status)
	s.MustGraphQL(`mutation($id: ID!) { replayEvent(id: $id) { eventID } }`, map[string]any{"id": ev.Event.ID}, nil)
	waitProcessed(t, s, 30)

	// A bulk replay, watched over a websocket until it ends.
	ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer " + s.Admin})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	var started struct {
		ReplayEvents struct {
			ID     string `json:"id"`
			Kind   string `json:"kind"`
			Status string `json:"status"`
		} `json:"replayEvents"`
	}
	s.MustGraphQL(`mutation { replayEvents(where: {topic: "customer_transfer_created"}) { id kind status } }`, nil, &started)
	require.Equal(t, "replay", started.ReplayEvents.Kind)
	ws.Subscribe("j", `subscription($id: ID!) { jobProgress(id: $id) { status total done failed } }`, map[string]any{"id": started.ReplayEvents.ID})
	var last struct {
		JobProgress struct {
			Status string `json:"status"`
			Total  int    `json:"total"`
			Done   int    `json:"done"`
		} `json:"jobProgress"`
	}
	for last.JobProgress.Status != "succeeded" {
		ws.NextData(10*time.Second, &last)
		require.NotEqual(t, "failed", last.JobProgress.Status)
	}
	require.Equal(t, 20, last.JobProgress.Total)
	require.Equal(t, 20, last.JobProgress.Done)
	waitProcessed(t, s, 30)

	// Counts were not doubled by the replays.
	var received int
	require.NoError(t, s.App.DB.Read.QueryRow("SELECT SUM(received) FROM metric_rollups WHERE granularity = 'day'").Scan(&received))
	require.Equal(t, 30, received)

	var jobs struct {
		Jobs struct {
			TotalCount int `json:"totalCount"`
		} `json:"jobs"`
	}
	s.MustGraphQL(`{ jobs(where: {kind: "replay"}) { totalCount } }`, nil, &jobs)
	require.Equal(t, 1, jobs.Jobs.TotalCount)

	// The status streams over a websocket too.
	ws.Subscribe("s", `subscription { systemStatus { breaker queueDepth eventsInPerSecond } }`, nil)
	var live struct {
		SystemStatus struct{ Breaker string } `json:"systemStatus"`
	}
	ws.NextData(5*time.Second, &live)
	require.Equal(t, "closed", live.SystemStatus.Breaker)
}
