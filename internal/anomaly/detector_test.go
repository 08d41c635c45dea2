package anomaly_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/anomaly"
)

func TestVolumeSpikeFiresAgainstSeasonalBaseline(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	s := b.series(scaled(40, business(b.loc)))
	in.Volume["transfer"] = s
	requireQuiet(t, b.det.Detect(in), "volume_spike:transfer")

	scale(s, 15, 2.5)
	f := requireFires(t, b.det.Detect(in), "volume_spike:transfer")
	require.Equal(t, anomaly.TypeVolumeSpike, f.Type)
	require.Equal(t, "transfer", f.Subject)
	require.Greater(t, f.Observed, 1.8*f.Expected)
	require.Greater(t, f.Observed, f.Upper)
	require.Less(t, f.Lower, f.Expected)
	require.Equal(t, b.end.Add(time.Minute), f.WindowEnd)
	require.True(t, f.WindowStart.Before(f.WindowEnd))
	require.Contains(t, f.Explanation, "transfer events")
	require.Contains(t, f.Baseline, "median")
}

func TestVolumeNormalSeasonalPeakStaysQuiet(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	// ACH settlement: every weekday at 10:50 a ten-minute burst of three
	// times the usual traffic. It is seasonal, so it is normal.
	burst := func(t time.Time) float64 {
		lt := t.In(b.loc)
		m := lt.Hour()*60 + lt.Minute()
		rate := 40 * business(b.loc)(t)
		if wd := lt.Weekday(); wd != time.Saturday && wd != time.Sunday && m >= 650 && m < 660 {
			rate *= 3
		}
		return rate
	}
	in := b.input()
	in.Volume["transfer"] = b.series(burst)
	for k := range 15 { // every minute of the burst and after it
		requireQuiet(t, b.det.Detect(at(in, k)), "volume_spike:transfer")
		requireQuiet(t, b.det.Detect(at(in, k)), "volume_drop:transfer")
	}

	// The same burst on a day that never had one is a spike.
	fresh := b.input()
	s := b.series(scaled(40, business(b.loc)))
	scale(s, 10, 3)
	fresh.Volume["transfer"] = s
	requireFires(t, b.det.Detect(fresh), "volume_spike:transfer")
}

func TestVolumeLowVolumeNoiseStaysQuiet(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	in.Volume["label"] = b.series(constant(0.05)) // three an hour
	in.Volume["mass_payment"] = b.series(func(t time.Time) float64 {
		return 0.3 * business(b.loc)(t)
	})
	// Mass payments arrive in clumps of up to five.
	for i, x := range ser(in.Volume["mass_payment"]) {
		ser(in.Volume["mass_payment"])[i] = x * float64(1+i%5)
	}
	for k := 0; k < 24*60; k += 7 { // a day of minutes
		fs := b.det.Detect(at(in, k))
		for _, f := range fs {
			require.Less(t, f.Severity, anomaly.SeverityWarning, f.Explanation)
		}
	}
}

func TestVolumeDropFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	s := b.series(scaled(40, business(b.loc)))
	in.Volume["transfer"] = s
	scale(s, 60, 0.4)
	f := requireFires(t, b.det.Detect(in), "volume_drop:transfer")
	require.Negative(t, f.Score)
	require.Less(t, f.Observed, 0.6*f.Expected)
	_, silent := find(b.det.Detect(in), "silence:transfer")
	require.False(t, silent, "a drop is not a silence")
}

func TestSilenceFiresOnBusyFamily(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	s := b.series(scaled(40, business(b.loc)))
	in.Volume["transfer"] = s
	scale(s, 10, 0)
	f := requireFires(t, b.det.Detect(in), "silence:transfer")
	require.Equal(t, anomaly.SeverityCritical, f.Severity, "hundreds of events missing")
	require.Zero(t, f.Observed)
	require.Contains(t, f.Explanation, "no transfer events for 10 min")
	// Five minutes later it is still silent, and still found.
	requireFires(t, b.det.Detect(at(in, 5)), "silence:transfer")
}

func TestSilenceNotWhereZeroIsNormal(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	in.Volume["balance"] = b.series(scaled(1.2, business(b.loc)))
	night := at(in, 8*60) // 03:00: about 0.06 events a minute
	scale(ser(night.Volume["balance"]), 120, 0)
	requireQuiet(t, b.det.Detect(night), "silence:balance")
}

func TestFailureRateSpikeFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.input()
	created := b.series(scaled(20, business(b.loc)))
	failed := make(anomaly.Series, len(created))
	for i, c := range created {
		p := 0.015
		if i >= len(created)-120 {
			p = 0.06 // a bank's returns: four times the usual rate
		}
		failed[i] = b.poisson(c * p)
	}
	in.Outcomes["transfer"] = anomaly.Outcomes{Created: created, Failed: failed}
	f := requireFires(t, b.det.Detect(in), "failure_rate:transfer")
	require.Equal(t, anomaly.TypeFailureRate, f.Type)
	require.InDelta(t, 0.06, f.Observed, 0.03)
	require.InDelta(t, 0.015, f.Expected, 0.005)
	require.Contains(t, f.Explanation, "failure rate")
}

func TestFailureRateTwoOfThreeIsNotSignificant(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.input()
	created := b.series(scaled(0.3, business(b.loc)))
	failed := make(anomaly.Series, len(created))
	for i, c := range created {
		failed[i] = b.poisson(c * 0.05)
	}
	// The last two hours: three created, two of them failed.
	for i := len(created) - 120; i < len(created); i++ {
		created[i], failed[i] = 0, 0
	}
	created[len(created)-1], created[len(created)-40], created[len(created)-80] = 1, 1, 1
	failed[len(created)-1], failed[len(created)-40] = 1, 1
	in.Outcomes["microdeposits"] = anomaly.Outcomes{Created: created, Failed: failed}
	requireQuiet(t, b.det.Detect(in), "failure_rate:microdeposits")
}

// lagBounds are histogram bounds in seconds.
var lagBounds = []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, math.Inf(1)}

// lagBuckets fills a histogram with deliveries per minute whose lag is
// mostly around a second, with a 2 % slow path.
func (b *testBundle) lagBuckets(rate func(time.Time) float64) anomaly.Histogram {
	shares := []float64{0.2, 0.3, 0.3, 0.15, 0.03, 0.015, 0.005, 0, 0, 0, 0}
	h := anomaly.Histogram{UpperBounds: lagBounds, Counts: make([]anomaly.Counts, len(lagBounds))}
	for i, share := range shares {
		h.Counts[i] = b.series(scaled(share, rate))
	}
	return h
}

func TestDeliveryLagSpikeFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.input()
	in.Lag = b.lagBuckets(scaled(80, business(b.loc)))
	requireQuiet(t, b.det.Detect(in), "delivery_lag:all")
	// For 15 minutes 40 % of deliveries come a minute or two late.
	for i := b.n - 15; i < b.n; i++ {
		var moved float64
		for bk := range 5 {
			d := math.Round(ser(in.Lag.Counts[bk])[i] * 0.4)
			ser(in.Lag.Counts[bk])[i] -= d
			moved += d
		}
		ser(in.Lag.Counts[7])[i] += moved
	}
	f := requireFires(t, b.det.Detect(in), "delivery_lag:all")
	require.Greater(t, f.Observed, 60.0, "p95 is in the 60–120 s bucket")
	require.Less(t, f.Expected, 10.0)
	require.Contains(t, f.Explanation, "p95")
}

// deliveries builds 100 deliveries a minute at peak with 0.4 % duplicates
// and a stray unsigned request now and then.
func (b *testBundle) deliveries(in *anomaly.Input) {
	rate := scaled(100, business(b.loc))
	unique := b.series(rate)
	dups := b.series(scaled(0.004, rate))
	bad := b.series(constant(0.003))
	all := make(anomaly.Series, b.n)
	for i := range all {
		all[i] = unique[i] + dups[i] + bad[i]
	}
	in.Deliveries = anomaly.Deliveries{All: all, Duplicates: dups, BadSignature: bad}
	errs := b.series(scaled(0.0005, rate))
	in.Processing = anomaly.Processing{Processed: unique, Errors: errs}
}

func TestDuplicateRateSpikeFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.input()
	b.deliveries(in)
	requireQuiet(t, b.det.Detect(in), "duplicate_rate:all")
	all, dups := ser(in.Deliveries.All), ser(in.Deliveries.Duplicates)
	for i := b.n - 15; i < b.n; i++ {
		extra := math.Round(0.08 * (all[i] - dups[i]))
		dups[i] += extra
		all[i] += extra
	}
	f := requireFires(t, b.det.Detect(in), "duplicate_rate:all")
	require.Greater(t, f.Observed, 0.05)
	require.Contains(t, f.Explanation, "acks")
}

func TestSignatureFailures(t *testing.T) {
	t.Parallel()
	t.Run("quiet on stray requests", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		in := b.input()
		b.deliveries(in)
		ser(in.Deliveries.BadSignature)[b.n-1] += 3 // a scanner tried three times
		ser(in.Deliveries.All)[b.n-1] += 3
		requireQuiet(t, b.det.Detect(in), "signature_failures:all")
	})
	t.Run("an attack", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		in := b.input()
		b.deliveries(in)
		for i := b.n - 15; i < b.n; i++ {
			ser(in.Deliveries.BadSignature)[i] += 2
			ser(in.Deliveries.All)[i] += 2
		}
		f := requireFires(t, b.det.Detect(in), "signature_failures:all")
		require.Equal(t, anomaly.SeverityWarning, f.Severity)
		require.Contains(t, f.Explanation, "attack")
	})
	t.Run("a botched secret rotation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		in := b.input()
		b.deliveries(in)
		all, bad := ser(in.Deliveries.All), ser(in.Deliveries.BadSignature)
		for i := b.n - 5; i < b.n; i++ {
			bad[i] = all[i] // every delivery rejected
		}
		f := requireFires(t, b.det.Detect(in), "signature_failures:all")
		require.Equal(t, anomaly.SeverityCritical, f.Severity)
		require.Contains(t, f.Explanation, "rotation")
	})
}

func TestProcessingErrorSpikeFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	in := b.input()
	b.deliveries(in)
	requireQuiet(t, b.det.Detect(in), "processing_errors:all")
	errs, processed := ser(in.Processing.Errors), ser(in.Processing.Processed)
	for i := b.n - 15; i < b.n; i++ {
		errs[i] += math.Round(0.02 * processed[i]) // a bad deploy fails 2 %
	}
	f := requireFires(t, b.det.Detect(in), "processing_errors:all")
	require.Greater(t, f.Observed, 0.01)
}

func TestStuckJourneySurgeFires(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.input()
	// The sweep marks a few journeys stuck every five minutes in business
	// hours; each leaves after about five hours.
	inflow := b.series(scaled(0.3, business(b.loc)))
	gauge := make(anomaly.Series, b.n)
	g, pending := 60.0, 0.0
	for i := range gauge {
		pending += inflow[i]
		if i >= b.n-60 {
			pending += 1 // a partner stopped sending completions
		}
		g -= math.Min(b.poisson(g/300), g)
		if i%5 == 0 {
			g += pending
			pending = 0
		}
		gauge[i] = g
	}
	in.Stuck = gauge
	requireQuiet(t, b.det.Detect(at(in, 61)), "stuck_journeys:all")
	f := requireFires(t, b.det.Detect(in), "stuck_journeys:all")
	require.Greater(t, f.Observed, f.Expected+30)
	require.Contains(t, f.Explanation, "became stuck")
}

func TestShortHistoryIsALearningPeriod(t *testing.T) {
	t.Parallel()
	b := setup(t, 0) // two hours of history: no seasonal baseline yet
	b.n = 6 * 60
	in := b.input()
	s := b.series(constant(20))
	in.Volume["transfer"] = s
	requireQuiet(t, b.det.Detect(in), "volume_spike:transfer")
	scale(s, 15, 4)
	f, ok := find(b.det.Detect(in), "volume_spike:transfer")
	require.True(t, ok)
	require.Contains(t, f.Baseline, "short history")
	require.Equal(t, anomaly.SeverityInfo, f.Severity, "a learning baseline reports but never opens")
	// A silence is a silence whatever the history.
	scale(s, 10, 0)
	requireFires(t, b.det.Detect(in), "silence:transfer")
}

func TestHistoryStartHidesOlderZeros(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	in := b.input()
	s := b.series(constant(20))
	// The system was installed six hours ago; before that the rollups are
	// empty, which is not the same as a quiet family.
	for i := 0; i < b.n-6*60; i++ {
		s[i] = 0
	}
	in.Volume["transfer"] = s
	_, found := find(b.det.Detect(in), "volume_spike:transfer")
	require.True(t, found, "zeros read as history make normal traffic look like a spike")
	in.HistoryStart = b.end.Add(-6 * time.Hour)
	requireQuiet(t, b.det.Detect(in), "volume_spike:transfer")
}

func TestDetectIsPureAndSorted(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.input()
	for _, fam := range []string{"transfer", "bank_transfer", "customer_verification"} {
		in.Volume[fam] = b.series(scaled(20, business(b.loc)))
	}
	scale(ser(in.Volume["bank_transfer"]), 15, 3)
	scale(ser(in.Volume["transfer"]), 15, 0)
	before := append(anomaly.Series(nil), ser(in.Volume["transfer"])...)

	first := b.det.Detect(in)
	second := b.det.Detect(in)
	require.Equal(t, first, second)
	require.Equal(t, before, in.Volume["transfer"], "Detect must not modify its input")
	require.True(t, len(first) >= 2)
	for i := 1; i < len(first); i++ {
		require.Less(t, first[i-1].Key, first[i].Key)
	}
	for _, f := range first {
		require.Equal(t, anomaly.Key(f.Type, f.Subject), f.Key)
		require.False(t, math.IsNaN(f.Score) || math.IsInf(f.Score, 0), f.Explanation)
		require.NotEmpty(t, f.Explanation)
		require.False(t, strings.Contains(f.Explanation, "NaN"), f.Explanation)
	}
}

func TestSeriesFromPoints(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 11, 10, 11, 0, 0, 0, time.UTC)
	s := anomaly.SeriesFromPoints(end, 5, []anomaly.Point{
		{Minute: end, Value: 3},
		{Minute: end.Add(-2 * time.Minute), Value: 1},
		{Minute: end.Add(-2*time.Minute + 30*time.Second), Value: 1}, // same minute
		{Minute: end.Add(-10 * time.Minute), Value: 9},               // too old
		{Minute: end.Add(time.Minute), Value: 9},                     // the future
	})
	require.Equal(t, anomaly.Series{0, 0, 2, 0, 3}, s)
}

func TestConfig(t *testing.T) {
	t.Parallel()
	cfg := anomaly.DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.GreaterOrEqual(t, cfg.Lookback(), 4*7*24*time.Hour, "four weeks of same-minute-of-week samples")
	require.Less(t, cfg.Lookback(), 5*7*24*time.Hour)

	cfg.Volume.Spike = nil
	_, err := anomaly.New(cfg)
	require.ErrorContains(t, err, "volume spike")
}

func TestCumulativeAnswersLikeSeries(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	in := b.input()
	in.Volume["transfer"] = b.series(scaled(30, business(b.loc)))
	scale(ser(in.Volume["transfer"]), 20, 2.5)
	b.deliveries(in)
	in.Lag = b.lagBuckets(scaled(80, business(b.loc)))
	gauge := b.series(constant(3))
	for i := 1; i < len(gauge); i++ {
		gauge[i] += gauge[i-1] * 0.98
	}
	in.Stuck = gauge
	created := b.series(scaled(20, business(b.loc)))
	in.Outcomes["transfer"] = anomaly.Outcomes{Created: created, Failed: b.series(scaled(0.3, business(b.loc)))}

	// The same input over prefix sums, windowed as a replay would.
	prepared := func(c anomaly.Counts) anomaly.Counts {
		s := ser(c)
		whole := append(anomaly.Series{7, 7, 7}, s...) // older data the window excludes
		w := anomaly.NewCumulative(whole).Window(3, len(whole))
		return &w
	}
	cum := *in
	cum.Volume = map[string]anomaly.Counts{"transfer": prepared(in.Volume["transfer"])}
	cum.Outcomes = map[string]anomaly.Outcomes{"transfer": {Created: prepared(created), Failed: prepared(in.Outcomes["transfer"].Failed)}}
	cum.Deliveries = anomaly.Deliveries{All: prepared(in.Deliveries.All), Duplicates: prepared(in.Deliveries.Duplicates), BadSignature: prepared(in.Deliveries.BadSignature)}
	cum.Processing = anomaly.Processing{Processed: prepared(in.Processing.Processed), Errors: prepared(in.Processing.Errors)}
	cum.Lag.Counts = make([]anomaly.Counts, len(in.Lag.Counts))
	for i, c := range in.Lag.Counts {
		cum.Lag.Counts[i] = prepared(c)
	}
	cum.Stuck = prepared(in.Stuck)

	want := b.det.Detect(in)
	require.NotEmpty(t, want)
	got := b.det.Detect(&cum)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Key, got[i].Key)
		require.Equal(t, want[i].Severity, got[i].Severity)
		require.InDelta(t, want[i].Score, got[i].Score, 1e-6*math.Max(1, math.Abs(want[i].Score)))
		require.InDelta(t, want[i].Observed, got[i].Observed, 1e-6*math.Max(1, want[i].Observed))
	}
}
