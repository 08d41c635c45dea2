package anomaly

import (
	"fmt"
	"math"
	"time"
)

// seasonalLags are the distances, in minutes, from End back to the same wall
// clock time one week, two weeks, … ago and on recent days of the same kind
// (a banking day, or a day off: a weekend day or a bank holiday, see
// IsBankHoliday). A week back of the other kind (a holiday a week ago, or
// a week before a holiday) is left out. They are computed in the business's
// time zone so a daylight-saving change moves them by an hour instead of
// moving the baseline.
type seasonalLags struct {
	weeks  []int // k weeks back, k = 1…, of the same kind
	days   []int // same-kind days back (not whole weeks), most recent first
	dayOff bool  // whether End falls on a weekend day or a bank holiday
}

func dayKind(dayOff bool) string {
	if dayOff {
		return "non-banking day"
	}
	return "banking day"
}

// plural prints a count with its noun, "1 week" or "3 weeks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func newSeasonalLags(end time.Time, loc *time.Location, cfg SeasonalConfig) seasonalLags {
	if loc == nil {
		loc = time.UTC
	}
	local := end.In(loc)
	lagTo := func(t time.Time) int { return int(end.Sub(t) / time.Minute) }
	var s seasonalLags
	s.dayOff = isDayOff(local)
	for k := 1; k <= cfg.Weeks; k++ {
		if t := local.AddDate(0, 0, -7*k); isDayOff(t) == s.dayOff {
			s.weeks = append(s.weeks, lagTo(t))
		}
	}
	for d := 1; d < 7*cfg.Weeks && len(s.days) < cfg.Days; d++ {
		if d%7 == 0 {
			continue
		}
		if t := local.AddDate(0, 0, -d); isDayOff(t) == s.dayOff {
			s.days = append(s.days, lagTo(t))
		}
	}
	return s
}

func isWeekend(d time.Weekday) bool { return d == time.Saturday || d == time.Sunday }

// countBaseline is the expectation for a windowed count, on the Anscombe
// scale (see anscombe).
type countBaseline struct {
	med   float64 // median of the transformed samples
	sigma float64 // predictive standard deviation of a new transformed count
	low   float64 // a low quantile of the transformed samples (wantLow only)
	lags  int     // independent periods the samples come from
	// recent marks the fallback baseline of preceding windows, used while
	// there is too little history for a seasonal one.
	recent bool
	desc   string
}

// expected is the baseline's count, back on the original scale.
func (b countBaseline) expected() float64 { return unanscombe(b.med) }

// z scores a count x against the baseline. Below the baseline it is the
// distance on the Anscombe scale, where a Poisson's light lower tail is close
// to normal. Above, small counts are skewed: 11 events where 2 are expected
// is z = 3.1 on the Anscombe scale but has a Poisson probability of 5·10⁻⁵,
// z = 3.9. So the upper tail is the scaled Poisson one (proportionZ) with
// the same predictive variance carried back to counts by the delta method,
// σ²·(μ + 3/8), and an expectation of at least half an event (a window of
// zeros in every reference still allows the odd event).
func (b countBaseline) z(x float64, upper bool) float64 {
	if !upper || x <= b.expected() {
		return (anscombe(x) - b.med) / b.sigma
	}
	mu := math.Max(b.expected(), 0.5)
	return proportionZ(x, mu, b.sigma*math.Sqrt(mu+0.375))
}

// scratch holds the per-call buffers so a Detect call allocates little.
type scratch struct {
	samples []float64
	dev     []float64
	lags    []int
	nb, fb  []float64 // reference buckets of proportion tests
}

func newScratch() *scratch {
	return &scratch{
		samples: make([]float64, 0, 128), dev: make([]float64, 128), lags: make([]int, 0, 16),
		nb: make([]float64, maxBuckets), fb: make([]float64, maxBuckets),
	}
}

// countBaselineFor builds the baseline for the w-minute window ending at End.
//
// Choice of method (why, in short): webhook volume follows the business week
// (weekday business hours, weekend dips, ACH settlement bursts at fixed wall
// clock times), so the best predictors of 10:00 on a Tuesday are 10:00 on
// recent Tuesdays (same minute of the week, which knows Monday from Friday)
// and 10:00 on the last few weekdays (same time of day on the same kind of
// day, which follows a trend sooner). We pool both, each sample shifted by a
// few minutes either way, and take the median on the variance-stabilised
// scale. Pooling nine periods instead of four makes the baseline both tighter
// (the median's own error shrinks with the number of periods) and robust: two
// bad weeks out of three (an outage last week, a drop the week before) would
// capture a weeks-only median, but not a median of nine. The price is that
// Fridays are compared partly with other weekdays; the DayCV floor absorbs
// that. The MAD measures how much the periods disagree. With fewer than
// MinLags periods in the history (the first days after install) the fallback
// is the median of the preceding windows over RecentMinutes: it cannot know
// the daily cycle, so its findings are capped at warning and its thresholds
// are raised.
func (d *Detector) countBaselineFor(v view, lags seasonalLags, w int, disp float64, sc *scratch, wantLow bool) (countBaseline, bool) {
	cfg := d.cfg.Seasonal
	minOff, maxOff := 0, 0
	for _, o := range cfg.OffsetsMinutes {
		minOff, maxOff = min(minOff, o), max(maxOff, o)
	}
	usable := func(lag int) bool { return lag+minOff >= w && v.has(lag+maxOff, w) }

	chosen := sc.lags[:0]
	weeks, days := 0, 0
	for _, l := range lags.weeks {
		if usable(l) {
			chosen = append(chosen, l)
			weeks++
		}
	}
	for _, l := range lags.days {
		if usable(l) {
			chosen = append(chosen, l)
			days++
		}
	}
	sc.lags = chosen

	samples := sc.samples[:0]
	var b countBaseline
	if weeks+days >= cfg.MinLags {
		for _, l := range chosen {
			samples = offsetSums(v, l, w, cfg.OffsetsMinutes, samples)
		}
		b.lags = len(chosen)
		switch {
		case days == 0:
			b.desc = fmt.Sprintf("same minute-of-week median over %s", plural(weeks, "week"))
		case weeks == 0:
			b.desc = fmt.Sprintf("same time-of-day median over %s", plural(days, dayKind(lags.dayOff)))
		default:
			b.desc = fmt.Sprintf("same time-of-day median over %s and %s", plural(weeks, "week"), plural(days, dayKind(lags.dayOff)))
		}
	} else {
		n := max(cfg.RecentMinutes/w, 3)
		for j := 1; j <= n; j++ {
			if !v.has(j*w, w) {
				break
			}
			samples = append(samples, v.sum(j*w, w))
		}
		if len(samples) < 3 {
			sc.samples = samples
			return b, false
		}
		b.lags = len(samples)
		b.recent = true
		b.desc = fmt.Sprintf("median of the preceding %d min (short history)", len(samples)*w)
	}
	sc.samples = samples

	for i, x := range samples {
		samples[i] = anscombe(x)
	}
	if cap(sc.dev) < len(samples) {
		sc.dev = make([]float64, len(samples))
	}
	med, mad := medianMAD(samples, sc.dev[:len(samples)])
	b.med = med
	if wantLow {
		b.low = quantile(samples, d.cfg.Silence.LowQuantile)
	}
	mu := unanscombe(med)
	floor := math.Sqrt(disp + cfg.DayCV*cfg.DayCV*mu)
	b.sigma = math.Max(madScale*mad, floor) * math.Sqrt(1+math.Pi/(2*float64(b.lags)))
	return b, true
}

// offsetSums appends the w-minute sums ending lag+o minutes before End for
// each offset o.
func offsetSums(v view, lag, w int, offsets []int, out []float64) []float64 {
	for _, o := range offsets {
		out = append(out, v.sum(lag+o, w))
	}
	return out
}

// dispersion estimates a family's index of dispersion (variance over mean of
// its one-minute counts) over the last hours. Mass payments and batch jobs
// arrive in clumps, and a Poisson model would call every clump a spike. The
// estimator uses successive differences, E[(x_i − x_{i−1})²] = 2·Var for a
// slowly varying mean (von Neumann 1941), so the daily ramp does not count as
// noise; it is computed per hour and the median hour is taken, so an
// incident in the last days does not inflate it. Hours with fewer than five
// events say nothing and are skipped; without three usable hours it is 1.
func dispersion(v view, hours int) float64 {
	var ds [24 * 7]float64
	k := 0
	for h := 0; h < hours && h < len(ds); h++ {
		if !v.has(h*60, 61) {
			break
		}
		// Minutes h·60 … h·60+59 ago; their steps include the one from
		// the minute before.
		from, to := v.n-(h+1)*60, v.n-h*60
		sum, sq := v.c.Sum(from, to), v.c.SquaredSteps(from, to)
		if sum >= 5 {
			ds[k] = sq / (2 * sum)
			k++
		}
	}
	if k < 3 {
		return 1
	}
	return math.Min(math.Max(quantile(ds[:k], 0.5), 1), 25)
}
