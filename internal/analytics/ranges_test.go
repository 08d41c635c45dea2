package analytics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Every minute of a range is covered by exactly one segment, whatever the
// range and the coarsest granularity allowed.
func TestCoverIsExact(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 150; i++ {
		from := base.Add(time.Duration(rnd.IntN(5*24*60)) * time.Minute)
		to := from.Add(time.Duration(1+rnd.IntN(6*24*60)) * time.Minute)
		for _, g := range []string{Minute, Hour, Day} {
			segs := cover(from, to, g)
			require.LessOrEqual(t, len(segs), 5)
			seen := map[time.Time]int{}
			rows := 0
			for _, s := range segs {
				require.True(t, s.from.Before(s.to))
				require.Equal(t, rollup.Truncate(s.from, s.granularity), s.from, "segments start on their granularity")
				require.LessOrEqual(t, order(s.granularity), order(g))
				for b := s.from; b.Before(s.to); b = b.Add(step(s.granularity)) {
					rows++
					for m := b; m.Before(b.Add(step(s.granularity))); m = m.Add(time.Minute) {
						seen[m]++
					}
				}
			}
			require.Equal(t, int(to.Sub(from)/time.Minute), len(seen), "%s %s..%s", g, from, to)
			for m, n := range seen {
				if n != 1 || m.Before(from) || !m.Before(to) {
					t.Fatalf("minute %s covered %d times by %+v for %s..%s", m, n, segs, from, to)
				}
			}
			if g == Day {
				require.LessOrEqual(t, rows, 2*59+2*23+7)
			}
		}
	}
}

func order(g string) int {
	return map[string]int{Minute: 0, Hour: 1, Day: 2}[g]
}

func TestNewWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 8, 5, 33, 0, time.UTC)
	w, err := NewWindow(time.Time{}, time.Time{}, "", now)
	require.NoError(t, err)
	require.Equal(t, now.Truncate(time.Minute).Add(time.Minute), w.To, "to rounds up, so now's minute is in")
	require.Equal(t, w.To.Add(-24*time.Hour), w.From)
	require.Equal(t, Hour, w.Granularity)
	require.Equal(t, w.From.Add(-w.Duration()), w.PreviousFrom)
	require.Len(t, w.points(), 25)

	w, err = NewWindow(now.Add(-time.Hour), now, "", now)
	require.NoError(t, err)
	require.Equal(t, Minute, w.Granularity)
	w, err = NewWindow(now.AddDate(0, 0, -30), now, "", now)
	require.NoError(t, err)
	require.Equal(t, Day, w.Granularity)

	for _, c := range []struct {
		from, to time.Time
		g, field string
	}{
		{now, now.Add(-time.Hour), "", "from"},
		{now.AddDate(-5, 0, 0), now, "", "from"},
		{now.AddDate(0, 0, -30), now, Minute, "granularity"},
		{now.Add(-time.Hour), now, "week", "granularity"},
	} {
		_, err := NewWindow(c.from, c.to, c.g, now)
		ue, ok := usererr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, c.field, ue.Field)
	}
}

func TestQuantileInterpolatesWithinBuckets(t *testing.T) {
	t.Parallel()
	var d rollup.Delta
	// 100 latencies: 50 in (5, 10] ms, 50 in (100, 250] ms.
	for i := 0; i < 50; i++ {
		d.ObserveProc(7)
		d.ObserveProc(200)
	}
	h := procHistogram(&d)
	require.InDelta(t, 10, *h.quantile(0.5), 1e-9, "rank 50 is the top of (5, 10]")
	require.InDelta(t, 5+5*0.5, *h.quantile(0.25), 1e-9)
	require.InDelta(t, 100+150*0.9, *h.quantile(0.95), 1e-9)
	require.InDelta(t, 103.5, *h.avg(), 1e-9)

	// The unbounded last bucket answers its lower bound.
	var slow rollup.Delta
	slow.ObserveProc(5 * 3600 * 1000)
	require.Equal(t, rollup.ProcBoundsMS[len(rollup.ProcBoundsMS)-1], *procHistogram(&slow).quantile(0.99))

	var none rollup.Delta
	require.Nil(t, procHistogram(&none).quantile(0.5))
	require.Nil(t, procHistogram(&none).avg())
}
