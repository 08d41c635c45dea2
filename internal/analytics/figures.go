package analytics

import (
	"math"

	"github.com/hooklens/hooklens/internal/rollup"
)

// Figure is a count over a window next to the same count over the previous
// window of equal length.
type Figure struct {
	Value    float64 `json:"value"`
	Previous float64 `json:"previous"`
	// Delta is Value − Previous.
	Delta float64 `json:"delta"`
	// Change is Delta ÷ Previous (0.25 = up 25 %); nil when Previous is 0.
	Change *float64 `json:"change"`
}

func figure(cur, prev float64) Figure {
	f := Figure{Value: cur, Previous: prev, Delta: cur - prev}
	if prev != 0 {
		c := (cur - prev) / prev
		f.Change = &c
	}
	return f
}

// Measure is a ratio or a latency over a window next to the previous
// window's; a side is nil when it had nothing to measure (no events, no
// attempts), so an idle period never reads as "0 % success".
type Measure struct {
	Value    *float64 `json:"value"`
	Previous *float64 `json:"previous"`
	// Delta is Value − Previous (for rates, in fractions: 0.01 is one
	// point); nil unless both sides are known.
	Delta *float64 `json:"delta"`
}

func measure(cur, prev *float64) Measure {
	m := Measure{Value: cur, Previous: prev}
	if cur != nil && prev != nil {
		d := *cur - *prev
		m.Delta = &d
	}
	return m
}

// ratio is a ÷ b, or nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	r := a / b
	return &r
}

func rate(curA, curB, prevA, prevB float64) Measure {
	return measure(ratio(curA, curB), ratio(prevA, prevB))
}

// Latency summarises a latency histogram: how many were measured, their
// mean, and percentiles interpolated within the histogram's buckets, in
// milliseconds.
type Latency struct {
	Count Figure  `json:"count"`
	AvgMS Measure `json:"avgMs"`
	P50MS Measure `json:"p50Ms"`
	P95MS Measure `json:"p95Ms"`
	P99MS Measure `json:"p99Ms"`
}

// histogram is one latency histogram summed over rows.
type histogram struct {
	count  int64
	sumMS  float64
	counts [rollup.Buckets]int64
	bounds *[rollup.Buckets - 1]float64
}

func procHistogram(d *rollup.Delta) histogram {
	return histogram{count: d.ProcCount, sumMS: d.ProcSumMS, counts: d.Proc, bounds: &rollup.ProcBoundsMS}
}

func lagHistogram(d *rollup.Delta) histogram {
	return histogram{count: d.LagCount, sumMS: d.LagSumMS, counts: d.Lag, bounds: &rollup.LagBoundsMS}
}

func (h histogram) avg() *float64 { return ratio(h.sumMS, float64(h.count)) }

// quantile estimates the q-quantile (0 < q ≤ 1) the way Prometheus'
// histogram_quantile does: find the bucket holding the rank q × n and
// interpolate linearly between its bounds, as if its observations were
// spread evenly (the first bucket starts at 0). The last bucket has no upper
// bound, so a rank that falls in it answers that bucket's lower bound: "at
// least this much". Nil when nothing was measured.
func (h histogram) quantile(q float64) *float64 {
	var n int64
	for _, c := range h.counts {
		n += c
	}
	if n == 0 {
		return nil
	}
	rank := q * float64(n)
	var cum float64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = h.bounds[i-1]
			}
			if i == len(h.counts)-1 {
				return &lo
			}
			hi := h.bounds[i]
			v := lo + (hi-lo)*math.Max(rank-cum, 0)/float64(c)
			return &v
		}
		cum += float64(c)
	}
	v := h.bounds[len(h.bounds)-1]
	return &v
}

func latency(cur, prev histogram) Latency {
	return Latency{
		Count: figure(float64(cur.count), float64(prev.count)),
		AvgMS: measure(cur.avg(), prev.avg()),
		P50MS: measure(cur.quantile(0.50), prev.quantile(0.50)),
		P95MS: measure(cur.quantile(0.95), prev.quantile(0.95)),
		P99MS: measure(cur.quantile(0.99), prev.quantile(0.99)),
	}
}
