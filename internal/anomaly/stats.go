package anomaly

import (
	"math"
	"slices"
)

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

// quantile is the q-quantile of a, linearly interpolated as quantileSorted,
// found by selection in linear time instead of sorting: the detectors take a
// dozen medians per key per minute. It reorders a.
func quantile(a []float64, q float64) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(a)-1)
	i := int(pos)
	lo := selectKth(a, i)
	if i >= len(a)-1 {
		return lo
	}
	hi := slices.Min(a[i+1:]) // everything after the k-th is ≥ it
	f := pos - float64(i)
	return lo*(1-f) + hi*f
}

// selectKth reorders a so that a[k] is its k-th smallest value, with
// smaller-or-equal values before it and larger-or-equal after (Hoare's
// quickselect with a median-of-three pivot), and returns a[k].
func selectKth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for hi > lo {
		if hi-lo < 12 {
			slices.Sort(a[lo : hi+1])
			return a[k]
		}
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// medianMAD returns the median and the median absolute deviation of a,
// using scratch (len ≥ len(a)) for the deviations. It reorders a.
func medianMAD(a, scratch []float64) (med, mad float64) {
	med = quantile(a, 0.5)
	d := scratch[:len(a)]
	for i, v := range a {
		d[i] = math.Abs(v - med)
	}
	return med, quantile(d, 0.5)
}

// zFromUpperTail converts the log of a one-sided p-value into the equivalent
// standard normal score, so Poisson and normal tests report comparable
// scores. math.Erfcinv loses everything below p ≈ 10⁻¹⁶ (it computes
// Erfinv(1 − x)), so the far tail solves the asymptotic expansion
// log Q(z) ≈ −z²/2 − log(z√(2π)) + log(1 − 1/z² + 3/z⁴) by fixed-point
// iteration instead.
func zFromUpperTail(logP float64) float64 {
	if logP >= math.Log(0.5) {
		return 0
	}
	if logP > math.Log(1e-15) {
		return math.Sqrt2 * math.Erfcinv(2*math.Exp(logP))
	}
	z := math.Sqrt(-2 * logP)
	for range 4 {
		corr := math.Log(1 - 1/(z*z) + 3/(z*z*z*z))
		z = math.Sqrt(-2 * (logP + math.Log(z*math.Sqrt(2*math.Pi)) - corr))
	}
	return z
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
