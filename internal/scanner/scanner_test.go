package scanner_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	entanomaly "github.com/hooklens/hooklens/ent/anomaly"
	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/scanner"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/usererr"
)

// plant writes minute rollups: perMinute(m) transfers created in minute m,
// and as many deliveries, for every minute of [from, to).
func plant(t *testing.T, db *store.DB, from, to time.Time, perMinute func(m time.Time) int64) {
	t.Helper()
	ctx := context.Background()
	b := rollup.NewBatch()
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n := perMinute(m)
		d := b.At(m, "customer_transfer_created")
		d.Received, d.Processed, d.Deliveries = n, n, n
		for i := int64(0); i < n; i++ {
			d.ObserveLag(300)
			d.ObserveProc(20)
		}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, rollup.Apply(ctx, db, tx, b))
	require.NoError(t, tx.Commit())
}

// oneWeek is the default detector configuration with a one-week seasonal
// look-back instead of four: the same detectors over a quarter of the
// minutes, so the tests stay quick under the race detector.
func oneWeek() *anomaly.Config {
	cfg := anomaly.DefaultConfig()
	cfg.Seasonal.Weeks = 1
	return &cfg
}

func TestSpikeOpensAndResolves(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		spike := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
		// Eight days of 20 transfers a minute (the volume detectors want a
		// week-ago and a day-ago baseline before they open anything), five
		// minutes of 200, then quiet again.
		start := spike.AddDate(0, 0, -8)
		plant(t, db, start, spike.Add(3*time.Hour), func(m time.Time) int64 {
			if !m.Before(spike) && m.Before(spike.Add(5*time.Minute)) {
				return 200
			}
			return 20
		})
		hub := live.NewHub("test")
		sub := hub.Subscribe(ctx, 64, live.AnomalyChanged)
		reg := prometheus.NewRegistry()
		sc, err := scanner.New(db, hub, nil, scanner.Options{Registerer: reg, Config: oneWeek()})
		require.NoError(t, err)

		var opened int
		for m := spike.Add(-10 * time.Minute); m.Before(spike); m = m.Add(time.Minute) {
			res, err := sc.ScanMinute(ctx, m)
			require.NoError(t, err)
			require.Empty(t, res.Opened, "nothing before the spike (%s): %+v", m, res.Findings)
		}
		for m := spike; m.Before(spike.Add(5 * time.Minute)); m = m.Add(time.Minute) {
			res, err := sc.ScanMinute(ctx, m)
			require.NoError(t, err)
			if len(res.Opened) > 0 {
				opened = res.Opened[0]
			}
		}
		require.NotZero(t, opened, "the spike opens an anomaly")
		a, err := db.Client.Anomaly.Get(ctx, opened)
		require.NoError(t, err)
		require.Equal(t, "volume_spike:transfer", a.Key)
		require.Equal(t, entanomaly.StatusOpen, a.Status)
		require.Greater(t, a.Observed, a.Expected)
		require.NotEmpty(t, a.Explanation)
		msg := <-sub.C
		require.Equal(t, []int{opened}, msg.IDs)
		require.Equal(t, []string{"volume_spike:transfer"}, msg.Keys)

		// Someone acknowledges it; it stays acknowledged while it lasts.
		ack, err := sc.Acknowledge(ctx, opened, "alice")
		require.NoError(t, err)
		require.Equal(t, entanomaly.StatusAcknowledged, ack.Status)
		require.Equal(t, "alice", ack.AcknowledgedBy)
		<-sub.C

		// Back to normal: resolved automatically once quiet.
		resolvedAt := time.Time{}
		for m := spike.Add(5 * time.Minute); m.Before(spike.Add(150*time.Minute)) && resolvedAt.IsZero(); m = m.Add(time.Minute) {
			res, err := sc.ScanMinute(ctx, m)
			require.NoError(t, err)
			require.Empty(t, res.Opened, "no new anomaly at %s: %+v", m, res.Findings)
			if len(res.Resolved) > 0 {
				require.Equal(t, []int{opened}, res.Resolved)
				resolvedAt = m
			}
		}
		require.False(t, resolvedAt.IsZero(), "auto-resolved")
		a, err = db.Client.Anomaly.Get(ctx, opened)
		require.NoError(t, err)
		require.Equal(t, entanomaly.StatusResolved, a.Status)
		require.Equal(t, "auto", a.ResolvedBy)
		require.Equal(t, "alice", a.AcknowledgedBy)
		require.WithinDuration(t, resolvedAt, *a.ResolvedAt, time.Second)
		require.True(t, a.LastSeenAt.Before(resolvedAt.Add(-14*time.Minute)), "quiet for 15 minutes first")
		msg = <-sub.C
		require.Equal(t, []int{opened}, msg.IDs)

		// A minute scanned twice is skipped; people cannot resolve twice.
		res, err := sc.ScanMinute(ctx, resolvedAt)
		require.NoError(t, err)
		require.True(t, res.Skipped)
		_, err = sc.Resolve(ctx, opened, "bob", "done")
		ue, ok := usererr.As(err)
		require.True(t, ok)
		require.Equal(t, usererr.Conflict, ue.Kind)
		_, err = sc.Acknowledge(ctx, 987654, "bob")
		ue, ok = usererr.As(err)
		require.True(t, ok)
		require.Equal(t, usererr.NotFound, ue.Kind)

		n, err := db.Client.Anomaly.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "one anomaly for the one spike")
		require.Equal(t, 1.0, testutil.ToFloat64(counter(t, reg, "opened")))
	})
}

func counter(t *testing.T, reg *prometheus.Registry, kind string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "hooklens_anomaly_changes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no hooklens_anomaly_changes_total{kind=%q}", kind)
	return nil
}

func TestResolveByHand(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	spike := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	plant(t, db, spike.AddDate(0, 0, -8), spike.Add(10*time.Minute), func(m time.Time) int64 {
		if !m.Before(spike) {
			return 300
		}
		return 25
	})
	sc, err := scanner.New(db, nil, nil, scanner.Options{Config: oneWeek()})
	require.NoError(t, err)
	var id int
	for m := spike; m.Before(spike.Add(3*time.Minute)) && id == 0; m = m.Add(time.Minute) {
		res, err := sc.ScanMinute(ctx, m)
		require.NoError(t, err)
		if len(res.Opened) > 0 {
			id = res.Opened[0]
		}
	}
	require.NotZero(t, id)
	a, err := sc.Resolve(ctx, id, "bob", "a planned load test")
	require.NoError(t, err)
	require.Equal(t, entanomaly.StatusResolved, a.Status)
	require.Equal(t, "a planned load test", a.ResolutionNote)
	// The spike goes on: the next scan opens a new episode, never a second
	// open anomaly for one key.
	res, err := sc.ScanMinute(ctx, spike.Add(5*time.Minute))
	require.NoError(t, err)
	require.Len(t, res.Opened, 1)
	require.NotEqual(t, id, res.Opened[0])
	open, err := db.Client.Anomaly.Query().Where(entanomaly.StatusEQ(entanomaly.StatusOpen)).Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, open)
}

// The scanner runs over real traffic: simulated Dwolla lifecycles delivered
// through the receiver, processed, their deliveries aggregated.
func TestScanSimulatedTraffic(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 7})
	require.NoError(t, err)
	stream, err := g.Stream(simulate.StreamOptions{Rate: 50, DuplicateShare: 0.05})
	require.NoError(t, err)
	const deliveries = 400
	first := time.Now().UTC()
	events := map[string]bool{}
	for i := 0; i < deliveries; i++ {
		ev, err := stream.Next()
		require.NoError(t, err)
		resp := s.Deliver(ev.Body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		events[ev.ID] = true
	}
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state = 'processed'").Scan(&n))
		return n == len(events)
	}, 20*time.Second, 20*time.Millisecond)
	_, err = rollup.NewAggregator(s.App.DB, nil, rollup.AggregatorOptions{Margin: -time.Minute}).Flush(ctx)
	require.NoError(t, err)

	sc, err := scanner.New(s.App.DB, s.App.Hub, nil, scanner.Options{})
	require.NoError(t, err)
	end := time.Now().UTC().Truncate(time.Minute)
	in, err := sc.Input(ctx, end)
	require.NoError(t, err)
	window := int(end.Sub(first.Truncate(time.Minute))/time.Minute) + 1
	total := func(c interface {
		Len() int
		Sum(from, to int) float64
	}) float64 {
		return c.Sum(c.Len()-window, c.Len())
	}
	var volume float64
	for fam, c := range in.Volume {
		require.NotEmpty(t, fam)
		volume += total(c)
	}
	require.Equal(t, float64(len(events)), volume, "every event, once")
	require.Equal(t, float64(deliveries), total(in.Deliveries.All))
	require.Equal(t, float64(deliveries-len(events)), total(in.Deliveries.Duplicates))
	require.Equal(t, float64(len(events)), total(in.Processing.Processed))
	require.Zero(t, total(in.Processing.Errors))
	require.Contains(t, in.Outcomes, "transfer")
	require.Equal(t, first.Truncate(time.Minute), in.HistoryStart, "history starts with the first rollup")

	res, err := sc.ScanMinute(ctx, end)
	require.NoError(t, err)
	require.Equal(t, end, res.Minute)
	for _, f := range res.Findings {
		require.NotEmpty(t, f.Explanation)
	}
	t.Logf("%d findings, %d opened over %d minutes of simulated traffic", len(res.Findings), len(res.Opened), window)
}

// A silence has no upper bound (its Upper is +Inf): the anomaly is stored
// with expected_high NULL, which JSON and GraphQL can carry.
func TestSilenceStoredWithoutUpperBound(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		quiet := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
		plant(t, db, quiet.AddDate(0, 0, -8), quiet, func(time.Time) int64 { return 40 })
		sc, err := scanner.New(db, live.NewHub("test"), nil, scanner.Options{Registerer: prometheus.NewRegistry(), Config: oneWeek()})
		require.NoError(t, err)
		opened := 0
		for m := quiet; m.Before(quiet.Add(30*time.Minute)) && opened == 0; m = m.Add(time.Minute) {
			res, err := sc.ScanMinute(ctx, m)
			require.NoError(t, err)
			for _, id := range res.Opened {
				a, err := db.Client.Anomaly.Get(ctx, id)
				require.NoError(t, err)
				if a.Type == "silence" {
					opened = id
				}
			}
		}
		require.NotZero(t, opened, "thirty minutes without a transfer open a silence")
		a, err := db.Client.Anomaly.Get(ctx, opened)
		require.NoError(t, err)
		require.Nil(t, a.ExpectedHigh, "no upper bound")
		require.NotNil(t, a.ExpectedLow)
		require.Positive(t, *a.ExpectedLow)
	})
}
