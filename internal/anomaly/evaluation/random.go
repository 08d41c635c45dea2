package evaluation

import (
	"math"
	"math/rand/v2"
)

// poisson draws from Poisson(lambda): inversion for small means, and
// Hörmann's transformed rejection with squeeze (PTRS, 1993) above, which is
// exact and needs about one uniform pair per draw at any mean.
func poisson(r *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 12 {
		p := math.Exp(-lambda)
		s, u, k := p, r.Float64(), 0
		for u > s && k < 1000 {
			k++
			p *= lambda / float64(k)
			s += p
		}
		return float64(k)
	}
	slam := math.Sqrt(lambda)
	loglam := math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// logUniform draws from a log-uniform distribution on [lo, hi]: magnitudes
// of incidents span orders of magnitude, and small ones are as common per
// decade as large ones.
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// uniform draws from [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

// lognormalCDF is P(X ≤ x) for a lognormal with the given median and log sd.
func lognormalCDF(x, median, sigma float64) float64 {
	if x <= 0 {
		return 0
	}
	if math.IsInf(x, 1) {
		return 1
	}
	return 0.5 * math.Erfc(-(math.Log(x)-math.Log(median))/(sigma*math.Sqrt2))
}
