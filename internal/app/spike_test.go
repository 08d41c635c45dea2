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
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
)

// TestFailureSpikeAlerts is issue 5's acceptance path end to end: after
// three days of ordinary history, the simulator injects a transfer failure
// spike through the real receiver over three minutes; the pipeline counts
// it, the anomaly scan opens a failure-rate anomaly, and the open_anomalies
// alert rule notifies a local webhook receiver.
//
// The detectors want a spike in at least three distinct minutes. The server
// runs on a test clock that follows the simulator's stream, so those three
// minutes pass in seconds of real time, and the test waits for each
// minute's deliveries to be processed before the clock leaves it, so a scan
// — the test's or the scheduler's — only ever sees finished minutes,
// however busy the machine is.
func TestFailureSpikeAlerts(t *testing.T) {
	t.Parallel()
	// The spike's three minutes lie in the recent past, so that nothing
	// still on the wall clock (the test's own rollup flush) is behind them.
	spike := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	ctx := context.Background()

	// Three days of ordinary traffic, ending before the spike, in the
	// database before the server starts: the scanner loads its four weeks
	// of history once, at its first scan, and must not find it half
	// written (on a busy machine writing it takes longer than the minute
	// before that scan).
	dbURL := dbtest.URL(t, "sqlite")
	history, err := store.Open(ctx, dbURL, store.Options{})
	require.NoError(t, err)
	require.NoError(t, history.Migrate(ctx))
	_, err = bulkgen.Generate(ctx, history, bulkgen.Options{
		Events: 30000, From: spike.Add(-72 * time.Hour), To: spike.Add(-5 * time.Minute), Seed: 3,
	})
	require.NoError(t, err)
	history.Close()

	clock := apptest.NewClock(spike.Add(-time.Minute))
	s := apptest.Start(t, "sqlite", apptest.Options{DatabaseURL: dbURL, Now: clock.Now})
	recv := newReceiver(t)

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

	// settle waits until nothing is left to process (the history holds a
	// few dead letters, which stay failed) and counts the deliveries.
	flush := rollup.NewAggregator(s.App.DB, nil, rollup.AggregatorOptions{Margin: -time.Minute})
	settle := func() {
		t.Helper()
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'queued'").Scan(&n))
			return n == 0
		}, 15*time.Second, 20*time.Millisecond)
		_, err := flush.Flush(ctx)
		require.NoError(t, err)
	}

	// The spike: transfers that all fail, 120 a minute through the
	// receiver for three whole minutes, each delivered at its stream time.
	mix, err := simulate.ParseMix("transfer=100,transfer.failed=100,transfer.completed=0,transfer.cancelled=0,transfer.creation-failed=0,transfer.late-failure=0")
	require.NoError(t, err)
	g, err := simulate.NewGenerator(simulate.Config{Seed: 5, Mix: mix})
	require.NoError(t, err)
	stream, err := g.Stream(simulate.StreamOptions{Rate: 2, BusinessDayLength: 10 * time.Millisecond, Start: spike})
	require.NoError(t, err)
	minutes := []time.Time{spike, spike.Add(time.Minute), spike.Add(2 * time.Minute)}
	perMinute := map[time.Time]int{}
	for i := 0; i < 360; i++ {
		at := stream.Clock().Add(100 * time.Millisecond)
		if !at.Truncate(time.Minute).Equal(clock.Now().Truncate(time.Minute)) {
			settle() // the minute ends: finish it before the clock leaves it
		}
		clock.Set(at)
		ev, err := stream.Next()
		require.NoError(t, err)
		resp := s.Deliver(ev.Body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		perMinute[at.Truncate(time.Minute)]++
	}
	require.Equal(t, map[time.Time]int{minutes[0]: 120, minutes[1]: 120, minutes[2]: 120}, perMinute)
	settle()

	// The scan, minute by minute as the scheduler runs it once each minute
	// has settled. The scheduler may have scanned the first minutes
	// already (it runs on the wall clock but reads the test clock): those
	// are skipped here.
	clock.Set(minutes[2].Add(2*time.Minute + time.Second))
	var scans []string
	for _, m := range minutes {
		res, err := s.App.Anomalies.ScanMinute(ctx, m)
		require.NoError(t, err)
		var found []string
		for _, f := range res.Findings {
			found = append(found, fmt.Sprintf("%s severity %d observed %.3g expected %.3g", f.Key, f.Severity, f.Observed, f.Expected))
		}
		scans = append(scans, fmt.Sprintf("%s: opened %d, skipped %t, findings %v", m.Format("15:04"), len(res.Opened), res.Skipped, found))
	}
	open, err := s.App.DB.Client.Anomaly.Query().Where(entanomaly.StatusEQ(entanomaly.StatusOpen)).All(ctx)
	require.NoError(t, err)
	var keys []string
	for _, a := range open {
		keys = append(keys, a.Key)
	}
	// The spike fails transfers and so their bank legs: the failure rate
	// of transfers, of bank transfers, or of both stands out.
	require.Regexp(t, `failure_rate:(transfer|bank_transfer)\b`, strings.Join(keys, " "),
		"open anomalies: %v; scans: %v; spike minutes: %v", keys, scans, minutes)

	// Evaluate reports each rule that could not be evaluated. The rules
	// about the pipeline read its status within 3 s, which a machine busy
	// enough can exceed; they are not this test's subject, open_anomalies is.
	_, err = s.App.Alerts.Evaluate(ctx, clock.Now())
	if err != nil {
		require.NotContains(t, err.Error(), "open_anomalies", "evaluating the rules: %v", err)
		t.Logf("rules not evaluated this time: %v", err)
	}
	require.Eventually(t, func() bool {
		for _, p := range recv.got() {
			if p["status"] == "firing" && p["rule"] == "open_anomalies" {
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "the receiver got: %v", recv.got())
}
