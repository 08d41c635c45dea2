package bench_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/simulate"
)

// TestSmoke runs the load generator for two seconds against a whole
// in-process server on each database and requires the ledger to balance:
// every request answered, every acknowledged event stored and processed.
func TestSmoke(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := apptest.Start(t, kind, apptest.Options{})
			var progress bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := bench.Run(ctx, bench.Config{
				Name: "smoke-" + kind, Target: srv.URL, Secret: apptest.Secret,
				DatabaseURL: srv.App.DB.URL, FreshDatabase: true,
				Traffic: bench.Traffic{Rate: 200, Duration: 2 * time.Second, DuplicateShare: 0.05},
				Seed:    7, DrainTimeout: 15 * time.Second, Progress: &progress,
			})
			require.NoError(t, err)
			t.Log(progress.String())
			var table bytes.Buffer
			require.NoError(t, bench.WriteText(&table, rep))
			t.Log(table.String())

			require.False(t, rep.Void, rep.VoidReason)
			require.True(t, rep.Ledger.Checked)
			require.True(t, rep.Ledger.Balanced, rep.Ledger.Reason)
			tot := rep.Totals()
			require.Equal(t, 400, tot.Scheduled)
			// On a starved machine a delivery may wait past the ingest timeout
			// and get 503 (Dwolla would retry it); nothing else may go wrong.
			for status := range rep.Steps[0].Load.ByStatus {
				require.Equal(t, 503, status, "only 503s may be unacknowledged: %+v", rep.Steps[0].Load.FirstErrors)
			}
			require.Zero(t, tot.Errors+tot.Timeouts, "%+v", rep.Steps[0].Load.FirstErrors)
			require.Greater(t, tot.Acked, tot.Sent/2)
			require.Zero(t, rep.Ledger.Lost)
			require.Equal(t, rep.Ledger.Stored, rep.Ledger.RowsInDatabase)
			require.Greater(t, tot.Duplicates, 0, "the duplicate share reaches the server")
			require.GreaterOrEqual(t, rep.Ledger.StoredDeliveries, tot.Acked)
			require.True(t, rep.EndToEnd.Drained)
			require.Equal(t, rep.Ledger.UniqueAcked, rep.EndToEnd.Processed)
			require.Greater(t, rep.EndToEnd.Latency.P50, 0.0)
			require.Nil(t, rep.Server, "a server the run did not start has unknown CPU and memory")
		})
	}
}

// TestPlanDwollaProfile checks the Dwolla profile's bursts: at most 10
// requests share an instant, and the average rate is kept.
func TestPlanDwollaProfile(t *testing.T) {
	t.Parallel()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 3})
	require.NoError(t, err)
	reqs, err := bench.Plan(g, "s3cret", bench.Traffic{Rate: 1000, Duration: 2 * time.Second, Profile: bench.ProfileDwolla}, 3)
	require.NoError(t, err)
	require.Len(t, reqs, 2000)
	run, bursts := 1, 1
	for i := 1; i < len(reqs); i++ {
		require.GreaterOrEqual(t, reqs[i].At, reqs[i-1].At)
		if reqs[i].At == reqs[i-1].At {
			run++
			require.LessOrEqual(t, run, bench.DwollaMaxInFlight)
			continue
		}
		run = 1
		bursts++
	}
	require.Greater(t, bursts, 2000/bench.DwollaMaxInFlight, "bursts vary in size")
	require.Less(t, bursts, 2000/2)
	require.InDelta(t, 2*time.Second, reqs[len(reqs)-1].At, float64(50*time.Millisecond))
}

// TestReadProc reads this process's CPU time and peak memory from /proc.
func TestReadProc(t *testing.T) {
	t.Parallel()
	st, err := bench.ReadProc(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, st.PeakRSS, int64(1<<20))
	require.GreaterOrEqual(t, st.PeakRSS, st.RSS)
	require.GreaterOrEqual(t, st.CPU, time.Duration(0))
}

// TestSendCountsQueueingNotGeneratorLag sends Dwolla-shaped traffic to a
// server that answers in 20 ms: with 10 in flight it manages 500/s of the
// 1,000/s offered, so requests queue for a slot. That wait must show in
// their latency (counted from the scheduled time) and not as the
// generator's lag.
func TestSendCountsQueueingNotGeneratorLag(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":true,"duplicate":false}`))
	}))
	defer slow.Close()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 1})
	require.NoError(t, err)
	reqs, err := bench.Plan(g, "s", bench.Traffic{Rate: 1000, Duration: 400 * time.Millisecond, Profile: bench.ProfileDwolla}, 1)
	require.NoError(t, err)
	res, err := bench.Send(context.Background(), reqs, bench.LoadOptions{URL: slow.URL, MaxInFlight: bench.DwollaMaxInFlight}, true)
	require.NoError(t, err)
	require.True(t, res.Balanced())
	require.Equal(t, len(reqs), res.Acked)
	require.Positive(t, res.Generator.CapWaits)
	// 400 requests at 500/s take ~800 ms: the last waits ~400 ms past its time.
	require.Greater(t, res.Ack.Max, 250.0)
	require.Less(t, res.Generator.DispatchLag.P50, res.Ack.P50/4, "waiting for a slot is not generator lag")
}
