package anomaly

import (
	"math"
	"time"
)

// counts returns the trials and events in the w minutes ending ago minutes
// before End.
type counts func(ago, w int) (trials, events float64)

// proportionResult is the outcome of a proportion test on one window.
type proportionResult struct {
	rule     Rule
	n, f     float64 // trials and events in the window
	p0       float64 // baseline share
	upper    float64 // the share the threshold allows
	z        float64
	severity Severity
	refMin   int // minutes of reference actually used
}

// proportionBaseline is the share and its overdispersion over the reference.
type proportionBaseline struct {
	n0, f0 float64 // reference trials and events
	p0     float64
	rho    float64 // intra-window correlation of the beta-binomial model
	refMin int
}

// referenceFromCounts fills the reference buckets from c and estimates the
// baseline; see proportionReference.
func referenceFromCounts(cfg ProportionConfig, c counts, limit, start int, sc *scratch) (proportionBaseline, bool) {
	ref := min(cfg.ReferenceMinutes, limit-start)
	buckets := min(ref/cfg.BucketMinutes, maxBuckets)
	if buckets*cfg.BucketMinutes < cfg.MinReferenceMinutes {
		return proportionBaseline{}, false
	}
	nb, fb := sc.nb[:buckets], sc.fb[:buckets]
	for i := range buckets {
		nb[i], fb[i] = c(start+i*cfg.BucketMinutes, cfg.BucketMinutes)
	}
	return proportionReference(cfg, nb, fb, buckets*cfg.BucketMinutes)
}

// maxBuckets caps the reference at four weeks of hourly buckets.
const maxBuckets = 24 * 7 * 4

// proportionReference measures the baseline share over the reference period
// (buckets of trials nb and events fb spanning ref minutes, counted back
// from where the longest window starts, so an ongoing incident does not
// raise its own baseline) and its overdispersion.
//
// Shares are not binomial in practice: failure rates move with the hour's mix
// of customers and banks, duplicates come in waves. We model a window's count
// as beta-binomial, Var = n·p(1−p)·(1 + (n−1)ρ) (Williams 1982), the same as a
// binomial whose p wanders between windows with relative spread √(ρ(1−p)/p).
// ρ is estimated from the busier half of the buckets, where it shows, as
// (φ−1)/(n−1) with φ the 30th percentile of their squared Pearson residuals
// over 0.1485 (that quantile of χ²₁): a low quantile, because a bad week can
// put incidents in a third of the busy hours and a median would take them
// for noise. It is floored at a 10 % relative wander of p, which a week of
// history cannot rule out.
func proportionReference(cfg ProportionConfig, nb, fb []float64, ref int) (proportionBaseline, bool) {
	buckets := len(nb)
	var n0, f0 float64
	for i := range buckets {
		fb[i] = math.Min(fb[i], nb[i])
		n0 += nb[i]
		f0 += fb[i]
	}
	if n0 < cfg.MinTrials {
		return proportionBaseline{}, false
	}
	// A one-sided Huber M-estimate of the share (Huber 1964): each bucket's
	// events are capped at c = 1.345 binomial standard deviations (plus one
	// event of slack, so rare events are not capped away) above what the
	// current estimate expects, and the share is pooled again until it
	// settles. A past incident's buckets then pull barely harder than
	// ordinary ones, so even a bad week with incidents in a quarter of its
	// busy hours moves the baseline by a fraction of a standard deviation.
	// Only the upper side is capped: small counts are skewed, and clipping
	// the empty buckets up would inflate a rare event's rate.
	const c = 1.345
	p := (f0 + 0.5) / (n0 + 1)
	var f1 float64
	for range 10 {
		f1 = 0
		for i := range buckets {
			e := nb[i] * p
			f1 += math.Min(fb[i], e+c*math.Sqrt(e*(1-p))+1)
		}
		next := (f1 + 0.5) / (n0 + 1)
		if math.Abs(next-p) < 1e-3*p {
			p = next
			break
		}
		p = next
	}
	// The +0.5 above is Jeffreys-style smoothing: it keeps p off zero when
	// the reference had no events at all (signature failures, processing
	// errors on a good week).
	b := proportionBaseline{n0: n0, f0: f1, p0: p, refMin: ref}
	b.rho = 0.01 * p / (1 - p) // the 10 % wander floor
	// Squared Pearson residuals of the busier half of the buckets that expect
	// at least one event (below that a residual says little).
	var r2, ns, tmp [maxBuckets]float64
	k := 0
	for i := range buckets {
		e := nb[i] * p
		if e < 1 {
			continue
		}
		d := fb[i] - e
		r2[k] = d * d / (e * (1 - p))
		ns[k] = nb[i]
		k++
	}
	if k < 12 {
		return b, true
	}
	copy(tmp[:k], ns[:k])
	cut := quantile(tmp[:k], 0.5)
	m := 0
	for i := range k {
		if ns[i] >= cut {
			r2[m], ns[m] = r2[i], ns[i]
			m++
		}
	}
	phi := quantile(r2[:m], 0.3) / 0.1485
	if nMed := quantile(ns[:m], 0.5); nMed > 1 && phi > 1 {
		b.rho = math.Max(b.rho, math.Min((phi-1)/(nMed-1), 0.5))
	}
	return b, true
}

// proportion tests each rule's window against the reference share: a
// one-sided two-proportion test with the beta-binomial variance
//
//	Var = φ(n)·n·p̄(1−p̄)·(1 + n/n0),  φ(n) = 1 + (n−1)ρ
//
// where p̄ pools window and reference and the (1 + n/n0) term is the
// reference's own sampling error (see proportionZ for the tail). A window
// needs MinTrials attempts and MinEvents failures, a share Ratio times the
// baseline and MinLift above it: significance without size is not an
// incident, and size without counts is noise.
func proportion(cfg ProportionConfig, c counts, v view, sc *scratch) (proportionResult, bool) {
	base, ok := referenceFromCounts(cfg, c, v.limit, longestRule(cfg.Rules), sc)
	if !ok {
		return proportionResult{}, false
	}
	return proportionTest(cfg, c, v, base)
}

// longestRule is the longest window of rules.
func longestRule(rules []Rule) int {
	m := 0
	for _, r := range rules {
		m = max(m, r.Minutes)
	}
	return m
}

// proportionTest runs the rules' windows against a baseline.
func proportionTest(cfg ProportionConfig, c counts, v view, base proportionBaseline) (proportionResult, bool) {
	var best, hold proportionResult
	bestExcess := 0.0
	for _, r := range cfg.Rules {
		if !v.has(0, r.Minutes) {
			continue
		}
		n, f := c(0, r.Minutes)
		f = math.Min(f, n)
		if n <= 0 {
			continue
		}
		pbar := (f + base.f0) / (n + base.n0)
		phi := 1 + (n-1)*base.rho
		sd := math.Sqrt(phi * n * pbar * (1 - pbar) * (1 + n/base.n0))
		if sd <= 0 {
			continue
		}
		z := proportionZ(f, n*base.p0, sd)
		p1 := f / n
		res := proportionResult{
			rule: r, n: n, f: f, p0: base.p0, z: z, refMin: base.refMin,
			upper: math.Min(base.p0+(r.Z*sd+0.5)/n, 1),
		}
		fires := n >= cfg.MinTrials && f >= cfg.MinEvents && z >= r.Z &&
			p1 >= r.Ratio*base.p0 && p1-base.p0 >= cfg.MinLift &&
			spread(func(ago int) float64 { _, e := c(ago, 1); return e }, r.Minutes, cfg.MinMinutes)
		if fires && z/r.Z > bestExcess {
			best, bestExcess = res, z/r.Z
		}
		if z >= cfg.HoldZ && f >= cfg.MinEvents/2 && p1 > base.p0 && (hold.rule.Minutes == 0 || z > hold.z) {
			hold = res
		}
	}
	switch {
	case bestExcess > 0:
		best.severity = SeverityWarning
		if best.z >= cfg.CriticalZ && best.f/best.n >= cfg.CriticalRatio*best.p0 {
			best.severity = SeverityCritical
		}
		return best, true
	case hold.rule.Minutes > 0:
		hold.severity = SeverityInfo
		return hold, true
	}
	return proportionResult{}, false
}

// spread reports whether events happened in at least need distinct minutes
// of the w-minute window: four errors in one minute are a blip, the same four
// spread over a quarter of an hour are a trend. It is only asked once a
// window otherwise fires.
func spread(events func(ago int) float64, w, need int) bool {
	if need <= 1 {
		return true
	}
	k := 0
	for ago := range w {
		if events(ago) > 0 {
			if k++; k >= need {
				return true
			}
		}
	}
	return false
}

// proportionZ turns f events against an expected mu with standard deviation
// sd into a z-score. A normal approximation is badly anti-conservative for
// the few-event windows this runs on (8 failures where 1.3 were expected is
// z = 5.9 by the normal curve but has a probability of 6·10⁻⁵, z = 3.8), so
// the tail is the scaled Poisson one: f/s against Poisson(mu/s), with the
// scale s = sd²/mu matching the variance (the quasi-Poisson approximation).
// It keeps Poisson's skew for small counts and tends to the normal test for
// large ones.
func proportionZ(f, mu, sd float64) float64 {
	s := sd * sd / mu
	if f <= mu || mu <= 0 || mu/s > 1e6 {
		return (f - mu) / sd
	}
	return zFromUpperTail(logPoissonUpper(f/s, mu/s))
}

// seriesCounts adapts two series to counts.
func seriesCounts(trials, events view) counts {
	return func(ago, w int) (float64, float64) {
		return trials.sum(ago, w), events.sum(ago, w)
	}
}

// proportionFinding turns a result into a Finding with the share as value.
func proportionFinding(in *Input, typ Type, subject string, r proportionResult, baseline string) Finding {
	w := r.rule.Minutes
	return Finding{
		Type: typ, Subject: subject, Key: Key(typ, subject), Severity: r.severity,
		WindowStart: windowStart(in.End, w), WindowEnd: in.End.Add(time.Minute),
		Observed: r.f / r.n, Expected: r.p0, Lower: 0, Upper: r.upper,
		Unit: "share", Score: r.z, Baseline: baseline,
	}
}
