package anomaly_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/anomaly"
)

// testBundle is a small world of synthetic per-minute traffic ending at end:
// enough weeks of history for the seasonal baselines, built by the helpers
// below and then changed by each test to plant what it wants to see.
type testBundle struct {
	det *anomaly.Detector
	loc *time.Location
	end time.Time // a Tuesday, 11:00 in New York
	n   int       // minutes of history
	r   *rand.Rand
}

func setup(t *testing.T, weeks int) *testBundle {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	det, err := anomaly.New(anomaly.DefaultConfig())
	require.NoError(t, err)
	return &testBundle{
		det: det, loc: loc,
		end: time.Date(2026, 11, 10, 11, 0, 0, 0, loc),
		n:   weeks*7*24*60 + 120,
		r:   rand.New(rand.NewPCG(uint64(len(t.Name())), 42)),
	}
}

// minute is the start of the i-th minute of the bundle's series.
func (b *testBundle) minute(i int) time.Time {
	return b.end.Add(-time.Duration(b.n-1-i) * time.Minute)
}

// series draws Poisson counts with the given rate (events/min) per minute.
func (b *testBundle) series(rate func(time.Time) float64) anomaly.Series {
	s := make(anomaly.Series, b.n)
	for i := range s {
		s[i] = b.poisson(rate(b.minute(i)))
	}
	return s
}

// poisson is Knuth's method for small means and a rounded normal above:
// plenty for tests.
func (b *testBundle) poisson(lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*b.r.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= b.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// business is a weekday-business-hours shape peaking at 1: quiet nights, a
// ramp from 07:30, busy until 18:30, weekends at a quarter.
func business(loc *time.Location) func(time.Time) float64 {
	return func(t time.Time) float64 {
		lt := t.In(loc)
		m := float64(lt.Hour()*60 + lt.Minute())
		day := 1 / (1 + math.Exp(-(m-450)/25)) * (1 - 1/(1+math.Exp(-(m-1110)/35)))
		if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return 0.05 + 0.25*day
		}
		return 0.05 + 0.95*day
	}
}

func scaled(k float64, f func(time.Time) float64) func(time.Time) float64 {
	return func(t time.Time) float64 { return k * f(t) }
}

func constant(v float64) func(time.Time) float64 {
	return func(time.Time) float64 { return v }
}

// input wraps series into an Input evaluated at the bundle's end.
func (b *testBundle) input() *anomaly.Input {
	return &anomaly.Input{End: b.end, Location: b.loc, Volume: map[string]anomaly.Counts{}, Outcomes: map[string]anomaly.Outcomes{}}
}

// at returns a copy of in evaluated k minutes before the bundle's end: every
// series is cut so it ends there, as production would have seen it.
func at(in *anomaly.Input, k int) *anomaly.Input {
	cut := func(c anomaly.Counts) anomaly.Counts {
		s, _ := c.(anomaly.Series)
		if len(s) == 0 {
			return c
		}
		return s[:len(s)-k]
	}
	out := *in
	out.End = in.End.Add(-time.Duration(k) * time.Minute)
	out.Volume = map[string]anomaly.Counts{}
	for f, s := range in.Volume {
		out.Volume[f] = cut(s)
	}
	out.Outcomes = map[string]anomaly.Outcomes{}
	for f, o := range in.Outcomes {
		out.Outcomes[f] = anomaly.Outcomes{Created: cut(o.Created), Failed: cut(o.Failed)}
	}
	out.Deliveries = anomaly.Deliveries{All: cut(in.Deliveries.All), Duplicates: cut(in.Deliveries.Duplicates), BadSignature: cut(in.Deliveries.BadSignature)}
	out.Processing = anomaly.Processing{Processed: cut(in.Processing.Processed), Errors: cut(in.Processing.Errors)}
	out.Lag.Counts = make([]anomaly.Counts, len(in.Lag.Counts))
	for i, s := range in.Lag.Counts {
		out.Lag.Counts[i] = cut(s)
	}
	out.Stuck = cut(in.Stuck)
	return &out
}

// find returns the finding with key, if any.
func find(fs []anomaly.Finding, key string) (anomaly.Finding, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f, true
		}
	}
	return anomaly.Finding{}, false
}

// requireFires asserts a finding of at least warning severity for key.
func requireFires(t *testing.T, fs []anomaly.Finding, key string) anomaly.Finding {
	t.Helper()
	f, ok := find(fs, key)
	require.True(t, ok, "no finding for %s; got %v", key, keys(fs))
	require.GreaterOrEqual(t, f.Severity, anomaly.SeverityWarning, f.Explanation)
	t.Log(f.Explanation)
	return f
}

// requireQuiet asserts that nothing at warning or above fired for key.
func requireQuiet(t *testing.T, fs []anomaly.Finding, key string) {
	t.Helper()
	if f, ok := find(fs, key); ok {
		require.Less(t, f.Severity, anomaly.SeverityWarning, f.Explanation)
	}
}

func keys(fs []anomaly.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Key + "/" + f.Severity.String()
	}
	return out
}

// scale multiplies the last k minutes of s by m (rounding), in place.
func scale(s anomaly.Series, k int, m float64) {
	for i := len(s) - k; i < len(s); i++ {
		s[i] = math.Round(s[i] * m)
	}
}

// ser is the Series behind a Counts the helpers built.
func ser(c anomaly.Counts) anomaly.Series { return c.(anomaly.Series) }
