package evaluation

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/hooklens/hooklens/internal/anomaly"
)

// profile is a family's daily shape: relative intensity (peak ≈ 1) at a local
// minute of the day on a weekday or a weekend.
type profile func(minute float64, weekday time.Weekday) float64

// familySpec describes one topic family's synthetic traffic.
type familySpec struct {
	name string
	// peak is the weekday busy-hour rate in events/min; realistic for a
	// mid-sized Dwolla platform (a few hundred thousand events a week).
	peak    float64
	shape   profile
	weekday [7]float64 // multiplier per weekday, Sunday first
	// achBursts adds the settlement bursts of completed transfers at fixed
	// wall-clock times on weekdays: seasonal peaks that are normal.
	achBursts bool
	// clump is the mean number of events per arrival (mass payments arrive
	// in batches); 1 means plain Poisson.
	clump float64
	// createdShare and failRate make it a business family: created events
	// are that share of its volume and fail at that rate.
	createdShare, failRate float64
}

// dispersion is the variance-to-mean ratio of the family's counts:
// E[S²]/E[S] for clump sizes S = 1 + Poisson(clump−1).
func (f familySpec) dispersion() float64 {
	if f.clump <= 1 {
		return 1
	}
	return ((f.clump - 1) + f.clump*f.clump) / f.clump
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func bump(m, centre, width float64) float64 {
	d := (m - centre) / width
	return math.Exp(-d * d / 2)
}

// business: quiet nights, a ramp from 07:30, busy until about 18:30, a small
// lunch dip; weekends at a low flat-ish level.
func business(m float64, wd time.Weekday) float64 {
	day := sigmoid((m-450)/25) * (1 - sigmoid((m-1110)/35)) * (1 - 0.12*bump(m, 750, 30))
	if wd == time.Saturday || wd == time.Sunday {
		return 0.05 + 0.25*day
	}
	return 0.05 + 0.95*day
}

// consumer: people sign up and add banks in the evening too.
func consumer(m float64, wd time.Weekday) float64 {
	day := sigmoid((m-480)/40) * (1 - sigmoid((m-1350)/40))
	v := 0.06 + 0.55*day + 0.4*bump(m, 1230, 90)
	if wd == time.Saturday || wd == time.Sunday {
		v *= 0.75
	}
	return v
}

// batch: mass payments are scheduled in the morning on weekdays.
func batch(m float64, wd time.Weekday) float64 {
	if wd == time.Saturday || wd == time.Sunday {
		return 0.03
	}
	return 0.04 + 0.96*bump(m, 600, 50) + 0.3*bump(m, 840, 40)
}

var flatWeek = [7]float64{1, 1, 1, 1, 1, 1, 1}

// families are the simulated topic families and their rates.
var families = []familySpec{
	{name: "transfer", peak: 40, shape: business, weekday: [7]float64{1, 1.08, 1, 1, 1.02, 1.12, 1}, achBursts: true, clump: 1, createdShare: 0.45, failRate: 0.015},
	{name: "bank_transfer", peak: 28, shape: business, weekday: [7]float64{1, 1.08, 1, 1, 1.02, 1.12, 1}, achBursts: true, clump: 1, createdShare: 0.45, failRate: 0.02},
	{name: "customer_verification", peak: 6, shape: consumer, weekday: flatWeek, clump: 1, createdShare: 0.3, failRate: 0.08},
	{name: "funding_source", peak: 5, shape: consumer, weekday: flatWeek, clump: 1},
	{name: "microdeposits", peak: 1.5, shape: business, weekday: flatWeek, clump: 1, createdShare: 0.45, failRate: 0.06},
	{name: "mass_payment", peak: 0.6, shape: batch, weekday: [7]float64{1, 1, 1, 1, 1, 2, 1}, clump: 3},
	{name: "beneficial_owner", peak: 0.6, shape: business, weekday: flatWeek, clump: 1},
	{name: "balance", peak: 1.2, shape: business, weekday: flatWeek, clump: 1},
}

// achTimes are the local minutes of day when Dwolla's ACH processing emits
// bursts of completed transfers.
var achTimes = []float64{8*60 + 15, 13 * 60, 16*60 + 45}

// lagBounds are the delivery-lag histogram's upper bounds in seconds.
var lagBounds = []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, math.Inf(1)}

// Traffic constants, chosen to look like a healthy production system.
const (
	dupBase      = 0.004  // 0.4 % of deliveries are redeliveries
	errBase      = 0.0005 // 0.05 % of processing attempts fail transiently
	badSigBase   = 0.003  // stray unsigned requests per minute (internet noise)
	slowShare    = 0.015  // deliveries that take Dwolla's slow path
	stuckPerXfer = 0.006  // stuck journeys per transfer-family event
	stuckLife    = 300.0  // mean minutes a stuck journey stays stuck

	// A failure rate wanders from day to day (failDaySD), within a day
	// (failARSD, an AR(1) with an hour's memory) and with the time of day
	// (±failDaily): the mix of customers and banks changes.
	failDaySD = 0.12
	failARSD  = 0.08
	failDaily = 0.15
)

// failWander is the failure rate's total relative wander, the oracle's cv.
var failWander = math.Sqrt(failDaySD*failDaySD + failARSD*failARSD + failDaily*failDaily/2)

// clock is the local calendar of every simulated minute.
type clock struct {
	minute  []float64 // local minute of day
	weekday []time.Weekday
	day     []int // local calendar day index from the start
}

func newClock(start time.Time, loc *time.Location, n int) clock {
	c := clock{minute: make([]float64, n), weekday: make([]time.Weekday, n), day: make([]int, n)}
	first := start.In(loc)
	y0, m0, d0 := first.Date()
	base := time.Date(y0, m0, d0, 0, 0, 0, 0, time.UTC)
	for i := range n {
		t := start.Add(time.Duration(i) * time.Minute).In(loc)
		c.minute[i] = float64(t.Hour()*60 + t.Minute())
		c.weekday[i] = t.Weekday()
		if anomaly.IsBankHoliday(t) {
			// ACH does not settle: traffic looks like a Sunday's.
			c.weekday[i] = time.Sunday
		}
		y, mo, d := t.Date()
		c.day[i] = int(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Sub(base) / (24 * time.Hour))
	}
	return c
}

// intensities are the noise-free-but-overdispersed rates of one scenario,
// before anomalies: what an oracle would expect.
type intensities struct {
	fam      [][]float64 // events/min per family
	failRate [][]float64 // per family (zero for non-business families)
	dupRate  []float64
	errRate  []float64
	lagMed   []float64 // median lag of the fast path, seconds
	stuckIn  []float64 // new stuck journeys per minute
	// stuckLevel is the expected stuck-journey gauge (the mean-field
	// solution of inflow, decay and the morning cleanup).
	stuckLevel []float64
}

// arProcess returns a stationary AR(1) log-multiplier series: slow drifts of
// a rate within a day (a busy half hour, a quiet one) that a Poisson model
// alone would miss.
func arProcess(r *rand.Rand, n int, tau, sd float64) []float64 {
	out := make([]float64, n)
	a := math.Exp(-1 / tau)
	s := math.Sqrt(1-a*a) * sd
	u := r.NormFloat64() * sd
	for i := range out {
		u = a*u + s*r.NormFloat64()
		out[i] = math.Exp(u - sd*sd/2)
	}
	return out
}

func newIntensities(r *rand.Rand, c clock, n int, noise float64) intensities {
	days := c.day[n-1] + 1
	shared := make([]float64, days)
	for d := range shared {
		shared[d] = math.Exp(noise * 0.04 * r.NormFloat64())
	}
	in := intensities{fam: make([][]float64, len(families)), failRate: make([][]float64, len(families))}
	for fi, f := range families {
		dayF := make([]float64, days)
		for d := range dayF {
			dayF[d] = shared[d] * math.Exp(noise*0.06*r.NormFloat64())
		}
		trend := uniform(r, -0.02, 0.05) // per week
		ar := arProcess(r, n, 20, 0.05)
		// Per-day jitter of each ACH burst, in minutes.
		jitter := make([][]float64, days)
		for d := range jitter {
			jitter[d] = []float64{1.5 * r.NormFloat64(), 1.5 * r.NormFloat64(), 1.5 * r.NormFloat64()}
		}
		lam := make([]float64, n)
		for i := range lam {
			m, wd, d := c.minute[i], c.weekday[i], c.day[i]
			v := f.peak * f.shape(m, wd) * f.weekday[wd]
			if f.achBursts && wd != time.Saturday && wd != time.Sunday {
				for k, at := range achTimes {
					v += f.peak * 1.2 * bump(m, at+jitter[d][k], 5)
				}
			}
			v *= math.Exp(trend*float64(i)/(7*24*60)) * dayF[d] * ar[i]
			lam[i] = v
		}
		in.fam[fi] = lam
		if f.failRate > 0 {
			dayP := make([]float64, days)
			for d := range dayP {
				dayP[d] = math.Exp(noise * failDaySD * r.NormFloat64())
			}
			arP := arProcess(r, n, 60, failARSD)
			p := make([]float64, n)
			for i := range p {
				p[i] = f.failRate * dayP[c.day[i]] * arP[i] * (1 + failDaily*math.Sin(2*math.Pi*c.minute[i]/1440))
			}
			in.failRate[fi] = p
		}
	}
	dupAR := arProcess(r, n, 30, 0.2)
	errAR := arProcess(r, n, 30, 0.2)
	in.dupRate = make([]float64, n)
	in.errRate = make([]float64, n)
	in.lagMed = make([]float64, n)
	in.stuckIn = make([]float64, n)
	peakU := 0.0
	for _, f := range families {
		peakU += f.peak
	}
	for i := range n {
		var u float64
		for fi := range families {
			u += in.fam[fi][i]
		}
		in.dupRate[i] = dupBase * dupAR[i]
		in.errRate[i] = errBase * errAR[i]
		in.lagMed[i] = 1.0 * (1 + 0.5*math.Min(u/peakU, 1.5))
		in.stuckIn[i] = stuckPerXfer * (in.fam[0][i] + in.fam[1][i])
	}
	in.stuckLevel = make([]float64, n)
	g := 60.0
	for i := range n {
		g += in.stuckIn[i] - g/stuckLife
		if cleanup(c, i) {
			g -= g / 3
		}
		in.stuckLevel[i] = g
	}
	return in
}

// total is the expected events per minute over all families at minute i.
func (in intensities) total(i int) float64 {
	var u float64
	for fi := range in.fam {
		u += in.fam[fi][i]
	}
	return u
}

// lagProbs fills q with the probability of each lag bucket for a mix of the
// fast path (median med), the slow path and, for a share delayed, a
// Dwolla-side delay of about delay seconds.
func lagProbs(q []float64, med, delayed, delay float64) {
	prev := 0.0
	for b, ub := range lagBounds {
		cdf := (1-delayed)*((1-slowShare)*lognormalCDF(ub, med, 0.7)+slowShare*lognormalCDF(ub, 25, 0.9)) +
			delayed*lognormalCDF(ub, math.Max(delay, 1), 0.35)
		q[b] = math.Max(cdf-prev, 0)
		prev = cdf
	}
}

// cleanup reports whether operations works through the stuck list at minute
// i (10:00 on weekdays).
func cleanup(c clock, i int) bool {
	return c.minute[i] == 600 && c.weekday[i] != time.Saturday && c.weekday[i] != time.Sunday
}
