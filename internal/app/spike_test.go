package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	entanomaly "github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/bulkgen"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/simulate"
)

// TestFailureSpikeAlerts is issue 5's acceptance path end to end: after
// three days of ordinary history, the simulator injects a transfer failure
// spike through the real receiver for three minutes; the pipeline counts it,
// the anomaly scan opens a failure-rate anomaly, and the open_anomalies alert
// rule notifies a local webhook receiver. It takes three real minutes
// (detectors want a spike in at least three distinct minutes) and runs in
// parallel with the rest of the suite.
func TestFailureSpikeAlerts(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	recv := newReceiver(t)

	// Three days of ordinary traffic, ending before the spike.
	now := time.Now().UTC()
	_, err := bulkgen.Generate(ctx, s.App.DB, bulkgen.Options{
		Events: 30000, From: now.Add(-72 * time.Hour), To: now.Truncate(time.Minute).Add(-5 * time.Minute), Seed: 3,
	})
	require.NoError(t, err)

	// Route the open_anomalies rule to the receiver.
	var ch struct {
		CreateAlertChannel struct{ ID string } `json:"createAlertChannel"`
	}
	s.MustGraphQL(`mutation($url: String!) { createAlertChannel(input: {name: "ops", kind: webhook, url: $url}) { id } }`,
		map[string]any{"url": recv.srv.URL}, &ch)
	var rules struct {
		AlertRules []struct{ ID, Key string } `json:"alertRules"`
	}
	s.MustGraphQL(`{ alertRules { id key } }`, nil, &rules)
	for _, r := range rules.AlertRules {
		if r.Key == "open_anomalies" {
			s.MustGraphQL(`mutation($id: ID!, $ch: ID!) { updateAlertRule(id: $id, input: {channelIDs: [$ch]}) { key } }`,
				map[string]any{"id": r.ID, "ch": ch.CreateAlertChannel.ID}, nil)
		}
	}

	// The spike: transfers that all fail, through the receiver, over three
	// whole minutes.
	mix, err := simulate.ParseMix("transfer=100,transfer.failed=100,transfer.completed=0,transfer.cancelled=0,transfer.creation-failed=0,transfer.late-failure=0")
	require.NoError(t, err)
	g, err := simulate.NewGenerator(simulate.Config{Seed: 5, Mix: mix})
	require.NoError(t, err)
	stream, err := g.Stream(simulate.StreamOptions{Rate: 50, BusinessDayLength: 10 * time.Millisecond})
	require.NoError(t, err)
	// Start in the current minute unless it is nearly over.
	start := time.Now().UTC().Truncate(time.Minute)
	if time.Until(start.Add(time.Minute)) < 15*time.Second {
		start = start.Add(time.Minute)
		time.Sleep(time.Until(start))
	}
	var minutes []time.Time
	for m := 0; m < 3; m++ {
		minute := start.Add(time.Duration(m) * time.Minute)
		minutes = append(minutes, minute)
		for i := 0; i < 120; i++ {
			ev, err := stream.Next()
			require.NoError(t, err)
			resp := s.Deliver(ev.Body)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		if m < 2 {
			time.Sleep(time.Until(minute.Add(time.Minute + time.Second)))
		}
	}
	// Nothing left to process (the history holds a few dead letters).
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'queued'").Scan(&n))
		return n == 0
	}, 30*time.Second, 50*time.Millisecond)
	_, err = rollup.NewAggregator(s.App.DB, nil, rollup.AggregatorOptions{Margin: -time.Minute}).Flush(ctx)
	require.NoError(t, err)

	// The scan, minute by minute as the scheduler would run it, from the
	// spike's first minute to the current one: on a loaded machine the
	// deliveries of a minute can spill into the next ones.
	var scans []string
	for m := minutes[0]; !m.After(time.Now().UTC().Truncate(time.Minute)); m = m.Add(time.Minute) {
		res, err := s.App.Anomalies.ScanMinute(ctx, m)
		require.NoError(t, err)
		scans = append(scans, fmt.Sprintf("%s: %d findings, opened %d, skipped %t", m.Format("15:04"), len(res.Findings), len(res.Opened), res.Skipped))
	}
	open, err := s.App.DB.Client.Anomaly.Query().Where(entanomaly.StatusEQ(entanomaly.StatusOpen)).All(ctx)
	require.NoError(t, err)
	var keys []string
	for _, a := range open {
		keys = append(keys, a.Key)
	}
	// The spike fails transfers and so their bank legs: the failure rate
	// of transfers, of bank transfers, or of both stands out (which one
	// crosses its threshold first depends on how the minutes fell).
	require.Regexp(t, `failure_rate:(transfer|bank_transfer)\b`, strings.Join(keys, " "),
		"open anomalies: %v; scans: %v; spike minutes: %v", keys, scans, minutes)

	_, err = s.App.Alerts.Evaluate(ctx, time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, p := range recv.got() {
			if p["status"] == "firing" && p["rule"] == "open_anomalies" {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "the receiver got: %v", recv.got())
}
