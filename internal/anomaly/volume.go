package anomaly

import (
	"fmt"
	"math"
	"time"
)

// windowStart is the first minute of a w-minute window ending at End.
func windowStart(end time.Time, w int) time.Time {
	return end.Add(-time.Duration(w-1) * time.Minute)
}

// volumeCandidate is one window's verdict for a spike or a drop.
type volumeCandidate struct {
	rule   Rule
	x, z   float64
	b      countBaseline
	excess float64 // z beyond the rule's threshold, in units of that threshold
	fires  bool
}

// volume runs the spike, drop and silence detectors on one family.
//
// Spikes and drops: for each rule's window the count is compared with its
// seasonal baseline on the Anscombe scale (z = (A(x) − median)/σ, see
// countBaselineFor). A window fires when z passes the rule's threshold and the
// effect is large enough to matter (ratio and absolute gates); of the windows
// that fire, the one furthest past its threshold is reported. Thresholds are
// high (z ≥ 4.5…6): the detector runs every minute on every family, so a
// per-test false-alarm rate of 10⁻⁵ is already several alarms a month.
func (d *Detector) volume(in *Input, family string, s Counts, lags seasonalLags, sc *scratch, out []Finding) []Finding {
	v := in.view(s)
	cfg := d.cfg.Volume
	disp := dispersion(v, cfg.DispersionHours)
	// Spike and drop rules share window lengths; build each baseline once.
	cache := baselineCache{d: d, v: v, lags: lags, disp: disp, sc: sc}
	if f, ok := d.volumeDirection(in, family, v, &cache, cfg.Spike, true); ok {
		out = append(out, f)
	}
	if f, ok := d.volumeDirection(in, family, v, &cache, cfg.Drop, false); ok {
		out = append(out, f)
	}
	if f, ok := d.silence(in, family, v, lags, disp, sc); ok {
		out = append(out, f)
	}
	return out
}

// baselineCache remembers the count baselines of one series by window length.
type baselineCache struct {
	d       *Detector
	v       view
	lags    seasonalLags
	disp    float64
	sc      *scratch
	entries []baselineEntry
}

type baselineEntry struct {
	w  int
	b  countBaseline
	ok bool
}

func (c *baselineCache) get(w int) (countBaseline, bool) {
	for _, e := range c.entries {
		if e.w == w {
			return e.b, e.ok
		}
	}
	b, ok := c.d.countBaselineFor(c.v, c.lags, w, c.disp, c.sc, false)
	c.entries = append(c.entries, baselineEntry{w, b, ok})
	return b, ok
}

func (d *Detector) volumeDirection(in *Input, family string, v view, cache *baselineCache, rules []Rule, spike bool) (Finding, bool) {
	cfg := d.cfg.Volume
	var best, hold volumeCandidate
	for _, r := range rules {
		if !v.has(0, r.Minutes) {
			continue
		}
		b, ok := cache.get(r.Minutes)
		if !ok {
			continue
		}
		x := v.sum(0, r.Minutes)
		z := b.z(x, spike)
		mu := b.expected()
		thr := r.Z
		ratio := r.Ratio
		if b.recent {
			// The fallback cannot see the daily cycle: a morning ramp looks
			// like a spike to it, and a first weekend like a drop. Demand
			// an effect no daily cycle makes: half again the evidence and
			// at least twice (or half) the level.
			thr *= 1.5
			if spike {
				ratio = math.Max(ratio*1.25, 2)
			} else {
				ratio = math.Min(ratio*0.8, 0.5)
			}
		}
		c := volumeCandidate{rule: r, x: x, z: z, b: b}
		if spike {
			c.fires = z >= thr && x >= ratio*mu && x-mu >= cfg.MinExcess
			c.excess = z / thr
			if z >= cfg.HoldZ && x > mu && (hold.rule.Minutes == 0 || z > hold.z) {
				hold = c
			}
		} else {
			c.fires = z <= -thr && x <= ratio*mu && mu >= cfg.MinExpectedDrop
			c.excess = -z / thr
			if z <= -cfg.HoldZ && x < mu && mu >= cfg.MinExpectedDrop/2 && (hold.rule.Minutes == 0 || z < hold.z) {
				hold = c
			}
		}
		if c.fires && (!best.fires || c.excess > best.excess) {
			best = c
		}
	}
	c := best
	sev := SeverityWarning
	switch {
	case best.fires && best.b.recent:
		// Learning period: with no day of the same kind in the history
		// (the first days after install, the first weekend) a morning
		// ramp is indistinguishable from a spike. Report, never open.
		sev = SeverityInfo
	case best.fires:
		mu := best.b.expected()
		if math.Abs(best.z) >= cfg.CriticalZ &&
			((spike && best.x >= cfg.CriticalSpikeRatio*mu) || (!spike && best.x <= cfg.CriticalDropRatio*mu)) {
			sev = SeverityCritical
		}
	case hold.rule.Minutes > 0:
		c, sev = hold, SeverityInfo
	default:
		return Finding{}, false
	}
	typ, word := TypeVolumeSpike, "above"
	if !spike {
		typ, word = TypeVolumeDrop, "below"
	}
	w := c.rule.Minutes
	fw := float64(w)
	band := c.rule.Z * c.b.sigma
	f := Finding{
		Type: typ, Subject: family, Key: Key(typ, family), Severity: sev,
		WindowStart: windowStart(in.End, w), WindowEnd: in.End.Add(time.Minute),
		Observed: c.x / fw, Expected: c.b.expected() / fw,
		Lower: unanscombe(c.b.med-band) / fw, Upper: unanscombe(c.b.med+band) / fw,
		Unit: "events/min", Score: c.z, Baseline: c.b.desc,
	}
	f.Explanation = fmt.Sprintf("%s events %s/min over %d min vs expected %s/min (normal %s–%s, %s): %s normal, z=%.1f",
		family, fmtRate(f.Observed), w, fmtRate(f.Expected), fmtRate(f.Lower), fmtRate(f.Upper), c.b.desc, word, c.z)
	return f, true
}

// silence fires when a family has had no events at all for a window in which
// even a low quantile of its baseline expects at least MinExpected: under a
// Poisson model P(0) = e^(−μ), 8·10⁻⁷ at μ = 14. The windows go from a few
// minutes (a busy family goes quiet: know within minutes) to hours (a quiet
// family needs hours before zero means anything), so the delay adapts to the
// family's volume. For clumped families the expectation is divided by the
// dispersion D (zero clumps is what has to happen). The score is the signed
// deviance residual of a zero count, −√(2μ).
func (d *Detector) silence(in *Input, family string, v view, lags seasonalLags, disp float64, sc *scratch) (Finding, bool) {
	cfg := d.cfg.Silence
	var (
		found, hold bool
		best        countBaseline
		bestW       int
		bestLow     float64
	)
	for _, w := range cfg.Windows {
		if !v.has(0, w) || v.sum(0, w) > 0 {
			break // a longer window contains this one's events too
		}
		b, ok := d.countBaselineFor(v, lags, w, disp, sc, true)
		if !ok {
			continue
		}
		// Clumped arrivals are silent more often: P(0) is about e^(−μ/D).
		low := unanscombe(b.low) / disp
		if b.recent {
			low /= 2
		}
		if low >= cfg.MinExpected && low > bestLow {
			found, best, bestW, bestLow = true, b, w, low
		} else if !found && low >= cfg.HoldExpected && low > bestLow {
			hold, best, bestW, bestLow = true, b, w, low
		}
	}
	if !found && !hold {
		return Finding{}, false
	}
	sev := SeverityInfo
	if found {
		sev = SeverityWarning
		if bestLow >= cfg.CriticalExpected && !best.recent {
			sev = SeverityCritical
		}
	}
	fw := float64(bestW)
	f := Finding{
		Type: TypeSilence, Subject: family, Key: Key(TypeSilence, family), Severity: sev,
		WindowStart: windowStart(in.End, bestW), WindowEnd: in.End.Add(time.Minute),
		Observed: 0, Expected: best.expected() / fw, Lower: bestLow / fw, Upper: math.Inf(1),
		Unit: "events/min", Score: -math.Sqrt(2 * bestLow), Baseline: best.desc,
	}
	f.Explanation = fmt.Sprintf("no %s events for %d min; expected %s/min, at least %s/min (%s)",
		family, bestW, fmtRate(f.Expected), fmtRate(f.Lower), best.desc)
	return f, true
}

// fmtRate prints a rate with sensible precision.
func fmtRate(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "∞"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}
