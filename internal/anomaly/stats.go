package anomaly

import "math"

// madScale turns a median absolute deviation into a standard deviation for
// normal data (1/Φ⁻¹(3/4); Leys et al. 2013, "Detecting outliers: do not use
// standard deviation around the mean, use absolute deviation around the
// median").
const madScale = 1.4826

// anscombe is the variance-stabilising transform of a Poisson count,
// 2·√(x+3/8) (Anscombe 1948): whatever the mean, the result has a standard
// deviation close to 1, so one threshold serves a family at 2 events/min and
// one at 200, and medians and MADs of transformed counts behave.
func anscombe(x float64) float64 { return 2 * math.Sqrt(math.Max(x, 0)+0.375) }

// unanscombe is the algebraic inverse of anscombe, clamped at zero.
func unanscombe(a float64) float64 {
	if a <= 0 {
		return 0
	}
	return math.Max(a*a/4-0.375, 0)
}

// sortSmall sorts a short slice in place. Insertion sort: the slices here hold
// at most a few dozen values, and it allocates nothing.
func sortSmall(a []float64) {
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i - 1
		for j >= 0 && a[j] > v {
			a[j+1] = a[j]
			j--
		}
		a[j+1] = v
	}
}

// quantileSorted is the q-quantile of a sorted slice, linearly interpolated.
func quantileSorted(a []float64, q float64) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(a)-1)
	i := int(pos)
	if i >= len(a)-1 {
		return a[len(a)-1]
	}
	f := pos - float64(i)
	return a[i]*(1-f) + a[i+1]*f
}

// medianMAD returns the median and the median absolute deviation of a,
// using scratch (len ≥ len(a)) for the deviations. It sorts a.
func medianMAD(a, scratch []float64) (med, mad float64) {
	sortSmall(a)
	med = quantileSorted(a, 0.5)
	d := scratch[:len(a)]
	for i, v := range a {
		d[i] = math.Abs(v - med)
	}
	sortSmall(d)
	return med, quantileSorted(d, 0.5)
}

// zFromUpperTail converts a one-sided p-value into the equivalent standard
// normal score, so Poisson and normal tests report comparable scores.
func zFromUpperTail(logP float64) float64 {
	if logP >= 0 {
		return 0
	}
	p := math.Exp(logP)
	if p < 1e-300 {
		// Mills ratio asymptotics: log p ≈ −z²/2 − log(z√(2π)); two
		// fixed-point steps are plenty this far out.
		z := math.Sqrt(-2 * logP)
		for range 2 {
			z = math.Sqrt(-2 * (logP + math.Log(z*math.Sqrt(2*math.Pi))))
		}
		return z
	}
	if p >= 0.5 {
		return 0
	}
	return math.Sqrt2 * math.Erfcinv(2*p)
}

// logPoissonUpper is log P(X ≥ x) for X ~ Poisson(mu), computed from the
// first term and the convergent series of ratios; it is only called with
// x > mu, where the series converges within a few √mu terms. x may be
// fractional (the scaled-Poisson tail of proportionZ).
func logPoissonUpper(x, mu float64) float64 {
	if x <= 0 {
		return 0
	}
	if mu <= 0 {
		return math.Inf(-1)
	}
	lg, _ := math.Lgamma(x + 1)
	logTerm := -mu + x*math.Log(mu) - lg
	sum, term := 1.0, 1.0
	for k := 1.0; k < 20000; k++ {
		term *= mu / (x + k)
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return logTerm + math.Log(sum)
}
