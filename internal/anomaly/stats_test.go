package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSeasonalLagsFollowTheWallClockAcrossDST(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	// Tuesday 3 November 2026, 10:00 EST; daylight-saving time ended on
	// Sunday 1 November, so 10:00 a week earlier was 14:00 UTC, not 15:00.
	end := time.Date(2026, 11, 3, 10, 0, 0, 0, ny)
	lags := newSeasonalLags(end, ny, DefaultConfig().Seasonal)
	require.Equal(t, 7*24*60+60, lags.weeks[0], "one week and the hour given back")
	require.Equal(t, 14*24*60+60, lags.weeks[1])
	require.False(t, lags.dayOff)
	// Same-kind days: Monday (1), then Friday, Thursday, Wednesday (4–6),
	// then Tuesday a week back is a week lag, so Monday (8).
	require.Equal(t, []int{24 * 60, 4*24*60 + 60, 5*24*60 + 60, 6*24*60 + 60, 8*24*60 + 60}, lags.days)

	utc := newSeasonalLags(end, nil, DefaultConfig().Seasonal)
	require.Equal(t, 7*24*60, utc.weeks[0], "in UTC a week is a week")
}

func TestQuantileMatchesSorting(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 120; n++ {
		for _, q := range []float64{0, 0.25, 0.5, 0.9, 1} {
			a := make([]float64, n)
			for i := range a {
				a[i] = float64(r.IntN(7)) // many ties, as with counts
			}
			sorted := slices.Sorted(slices.Values(a))
			require.Equal(t, quantileSorted(sorted, q), quantile(a, q), "n=%d q=%v", n, q)
		}
	}
}

func TestZFromUpperTail(t *testing.T) {
	t.Parallel()
	require.Zero(t, zFromUpperTail(math.Log(0.7)))
	require.InDelta(t, 1.6449, zFromUpperTail(math.Log(0.05)), 1e-4)
	require.InDelta(t, 4.7534, zFromUpperTail(math.Log(1e-6)), 1e-4)
	// Continuous where the far-tail expansion takes over, finite far out.
	require.InDelta(t, zFromUpperTail(math.Log(1.0001e-15)), zFromUpperTail(math.Log(0.9999e-15)), 1e-3)
	require.InDelta(t, 37.05, zFromUpperTail(math.Log(1e-300)), 0.01)
	require.False(t, math.IsInf(zFromUpperTail(-1e5), 0))
}

func TestLogPoissonUpperMatchesTheSum(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ x, mu float64 }{{3, 1}, {8, 1.3}, {30, 10}, {140, 100}} {
		var tail float64
		for k := c.x; k < c.x+400; k++ {
			lg, _ := math.Lgamma(k + 1)
			tail += math.Exp(-c.mu + k*math.Log(c.mu) - lg)
		}
		require.InDelta(t, math.Log(tail), logPoissonUpper(c.x, c.mu), 1e-9, "%+v", c)
	}
}

func TestProportionZRespectsSmallCountSkew(t *testing.T) {
	t.Parallel()
	// Eight failures where 1.3 were expected: a normal test says z ≈ 5.9;
	// the Poisson tail is 6·10⁻⁵, z ≈ 3.8.
	z := proportionZ(8, 1.3, math.Sqrt(1.3))
	require.InDelta(t, 3.83, z, 0.02)
	// With many events the two agree.
	require.InDelta(t, 5.0, proportionZ(1000+5*math.Sqrt(1000), 1000, math.Sqrt(1000)), 0.2)
}

func TestDispersionSeesClumps(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	n := 3*24*60 + 61
	plain, clumped := make(Series, n), make(Series, n)
	for i := range n {
		if r.Float64() < 0.3 {
			plain[i] = 1
		}
		if r.Float64() < 0.1 {
			clumped[i] = 3 + float64(r.IntN(3)) // batches of 3–5
		}
	}
	require.InDelta(t, 1, dispersion(view{c: plain, n: n, limit: n}, 72), 0.3)
	require.Greater(t, dispersion(view{c: clumped, n: n, limit: n}, 72), 3.0)
}
