package anomaly

import (
	"fmt"
	"math"
	"time"
)

// failureRate tests one business family's Failed/Created share.
func (d *Detector) failureRate(in *Input, family string, o Outcomes, sc *scratch) (Finding, bool) {
	created, failed := in.view(o.Created), in.view(o.Failed)
	v := view{limit: min(created.limit, failed.limit)}
	r, ok := proportion(d.cfg.FailureRate, seriesCounts(created, failed), v, sc)
	if !ok {
		return Finding{}, false
	}
	base := fmt.Sprintf("%s rate", span(r.refMin))
	f := proportionFinding(in, TypeFailureRate, family, r, base)
	f.Explanation = fmt.Sprintf("%s failure rate %s (%.0f failed of %.0f created) over %d min vs expected %s (%s; normal up to %s), z=%.1f",
		family, pct(f.Observed), r.f, r.n, r.rule.Minutes, pct(r.p0), base, pct(r.upper), r.z)
	return f, true
}

// duplicates tests the share of verified deliveries that repeat an event we
// already have. Dwolla redelivers an event when our 2xx does not arrive in
// time (REFERENCE.md §1), so the share rises when our acks are slow.
func (d *Detector) duplicates(in *Input, sc *scratch) (Finding, bool) {
	all, dup, bad := in.view(in.Deliveries.All), in.view(in.Deliveries.Duplicates), in.view(in.Deliveries.BadSignature)
	c := func(ago, w int) (float64, float64) {
		n := all.sum(ago, w) - bad.sum(ago, w)
		return math.Max(n, 0), dup.sum(ago, w)
	}
	r, ok := proportion(d.cfg.Duplicates, c, view{limit: min(all.limit, dup.limit)}, sc)
	if !ok {
		return Finding{}, false
	}
	base := fmt.Sprintf("%s rate", span(r.refMin))
	f := proportionFinding(in, TypeDuplicateRate, SubjectAll, r, base)
	f.Explanation = fmt.Sprintf("duplicate deliveries %s (%.0f of %.0f) over %d min vs expected %s (%s; normal up to %s), z=%.1f: are our acks slow?",
		pct(f.Observed), r.f, r.n, r.rule.Minutes, pct(r.p0), base, pct(r.upper), r.z)
	return f, true
}

// processingErrors tests the pipeline's error share.
func (d *Detector) processingErrors(in *Input, sc *scratch) (Finding, bool) {
	processed, errs := in.view(in.Processing.Processed), in.view(in.Processing.Errors)
	r, ok := proportion(d.cfg.ProcessingErrors, seriesCounts(processed, errs), view{limit: min(processed.limit, errs.limit)}, sc)
	if !ok {
		return Finding{}, false
	}
	base := fmt.Sprintf("%s rate", span(r.refMin))
	f := proportionFinding(in, TypeProcessingErrors, SubjectAll, r, base)
	f.Explanation = fmt.Sprintf("processing errors %s (%.0f of %.0f attempts) over %d min vs expected %s (%s; normal up to %s), z=%.1f",
		pct(f.Observed), r.f, r.n, r.rule.Minutes, pct(r.p0), base, pct(r.upper), r.z)
	return f, true
}

// deliveryLag tests the share of deliveries slower than the baseline's tail
// bound, the smallest histogram bound (≥ MinLagSeconds) that at most
// TailFraction of the reference's deliveries exceed in a typical hour.
// Turning "lag spiked" into "more deliveries than usual beyond the usual p95"
// makes it the same proportion test as the others, with counts that add up
// across minutes; percentiles do not. The bound is chosen from the median
// hour, not the pooled reference, so a past lag incident cannot push it out
// of reach of the next one.
func (d *Detector) deliveryLag(in *Input, sc *scratch) (Finding, bool) {
	cfg := d.cfg.DeliveryLag
	h := in.Lag
	nb := len(h.UpperBounds)
	if nb < 2 || len(h.Counts) != nb {
		return Finding{}, false
	}
	views := make([]view, nb)
	limit := math.MaxInt
	for i, s := range h.Counts {
		views[i] = in.view(s)
		limit = min(limit, views[i].limit)
	}
	longest := longestRule(cfg.Rules)
	bm := cfg.BucketMinutes
	hours := min(min(cfg.ReferenceMinutes, limit-longest)/bm, maxBuckets)
	if hours*bm < cfg.MinReferenceMinutes {
		return Finding{}, false
	}
	// hourly[k*nb+i] is bucket i's deliveries in reference hour k;
	// exceed[i] lists the hours' shares above bound i.
	hourly := make([]float64, hours*nb)
	totals := sc.nb[:hours]
	exceed := make([][]float64, nb)
	for k := range hours {
		row := hourly[k*nb : (k+1)*nb]
		var total float64
		for i, v := range views {
			row[i] = v.sum(longest+k*bm, bm)
			total += row[i]
		}
		totals[k] = total
		if total < 20 {
			continue // too few deliveries for a share to mean anything
		}
		above := total
		for i := range nb {
			above -= row[i]
			exceed[i] = append(exceed[i], above/total)
		}
	}
	if len(exceed[0]) < 6 {
		return Finding{}, false
	}
	medEx := make([]float64, nb)
	for i := range nb {
		medEx[i] = quantile(exceed[i], 0.5)
	}
	cut := -1 // buckets after cut are "slow"
	for i, ub := range h.UpperBounds {
		if math.IsInf(ub, 1) {
			break
		}
		cut = i
		if ub >= cfg.MinLagSeconds && medEx[i] <= cfg.TailFraction {
			break
		}
	}
	if cut < 0 || cut == nb-1 {
		return Finding{}, false
	}
	c := func(ago, w int) (float64, float64) {
		var n, f float64
		for i, v := range views {
			s := v.sum(ago, w)
			n += s
			if i > cut {
				f += s
			}
		}
		return n, f
	}
	// The proportion test's reference is the same hours, already summed.
	slow := sc.fb[:hours]
	for k := range hours {
		slow[k] = 0
		for _, x := range hourly[k*nb+cut+1 : (k+1)*nb] {
			slow[k] += x
		}
	}
	base, ok := proportionReference(cfg.ProportionConfig, totals, slow, hours*bm)
	if !ok {
		return Finding{}, false
	}
	r, ok := proportionTest(cfg.ProportionConfig, c, view{limit: limit}, base)
	if !ok {
		return Finding{}, false
	}
	window := make([]float64, nb)
	for i, v := range views {
		window[i] = v.sum(0, r.rule.Minutes)
	}
	obs, exp := histQuantile(h.UpperBounds, window, 0.95), exceedQuantile(h.UpperBounds, medEx, 0.05)
	bound := h.UpperBounds[cut]
	f := Finding{
		Type: TypeDeliveryLag, Subject: SubjectAll, Key: Key(TypeDeliveryLag, SubjectAll), Severity: r.severity,
		WindowStart: windowStart(in.End, r.rule.Minutes), WindowEnd: in.End.Add(time.Minute),
		Observed: obs, Expected: exp, Lower: 0, Upper: bound,
		Unit: "seconds (p95)", Score: r.z, Baseline: fmt.Sprintf("%s lag distribution", span(r.refMin)),
	}
	f.Explanation = fmt.Sprintf("delivery lag p95 %s over %d min vs expected %s: %s of %.0f deliveries slower than %s vs %s normally (%s), z=%.1f",
		secs(obs), r.rule.Minutes, secs(exp), pct(r.f/r.n), r.n, secs(bound), pct(r.p0), f.Baseline, r.z)
	return f, true
}

// exceedQuantile is the lag that a share tail of deliveries exceed, read off
// the exceedance shares at each bound (linear between bounds).
func exceedQuantile(bounds, exceed []float64, tail float64) float64 {
	lower, prev := 0.0, 1.0
	for i, ub := range bounds {
		if math.IsInf(ub, 1) {
			return lower
		}
		if exceed[i] <= tail {
			if prev <= exceed[i] {
				return ub
			}
			return lower + (ub-lower)*(prev-tail)/(prev-exceed[i])
		}
		lower, prev = ub, exceed[i]
	}
	return lower
}

// histQuantile interpolates a quantile inside a bucketed histogram; in the
// open last bucket it returns that bucket's lower bound.
func histQuantile(bounds, counts []float64, q float64) float64 {
	var total float64
	for _, c := range counts {
		total += c
	}
	if total <= 0 {
		return 0
	}
	target := q * total
	lower, acc := 0.0, 0.0
	for i, c := range counts {
		if acc+c >= target && c > 0 {
			if math.IsInf(bounds[i], 1) {
				return lower
			}
			return lower + (bounds[i]-lower)*(target-acc)/c
		}
		acc += c
		lower = bounds[i]
	}
	return lower
}

// signatures tests the count of deliveries rejected for their signature. It
// is a count test, not a share: forged requests arrive whatever our real
// traffic does, so at night a handful would look like a large share. The
// baseline rate comes from the reference hours, each capped at HourCap times
// the median hour so a past attack does not teach the detector to expect
// attacks; the window's count is then tested against Poisson(rate·w) with the
// exact upper tail. A botched secret rotation also fires here: every delivery
// fails, and the share (≥ CriticalShare) makes it critical because events are
// being lost, not just probed for.
func (d *Detector) signatures(in *Input) (Finding, bool) {
	cfg := d.cfg.Signatures
	bad, all := in.view(in.Deliveries.BadSignature), in.view(in.Deliveries.All)
	longest := 0
	for _, r := range cfg.Rules {
		longest = max(longest, r.Minutes)
	}
	ref := min(cfg.ReferenceMinutes, bad.limit-longest)
	ref -= ref % 60
	if ref < 6*60 {
		return Finding{}, false
	}
	var hours [24 * 7 * 4]float64
	n := min(ref/60, len(hours))
	ref = n * 60
	for i := range n {
		hours[i] = bad.sum(longest+i*60, 60)
	}
	sorted := hours[:n]
	tmp := make([]float64, n)
	copy(tmp, sorted)
	capAt := math.Max(3, cfg.HourCap*quantile(tmp, 0.5))
	var sum float64
	for _, c := range sorted {
		sum += math.Min(c, capAt)
	}
	// One pseudo-event keeps a clean history from expecting exactly zero.
	rate := (sum + 1) / float64(ref)

	type cand struct {
		r             Rule
		x, mu, share  float64
		z, excess     float64
		fires, rotate bool
	}
	var best, hold, rotation cand
	for _, r := range cfg.Rules {
		if !bad.has(0, r.Minutes) {
			continue
		}
		x := bad.sum(0, r.Minutes)
		mu := rate * float64(r.Minutes)
		if x <= mu {
			continue
		}
		c := cand{r: r, x: x, mu: mu, z: zFromUpperTail(logPoissonUpper(x, mu))}
		c.excess = c.z / r.Z
		if n := all.sum(0, r.Minutes); n > 0 {
			c.share = x / n
		}
		c.fires = x >= cfg.MinEvents && c.z >= r.Z && x >= r.Ratio*mu && spread(bad.at, r.Minutes, cfg.MinMinutes)
		// Most deliveries rejected, in any window: report that window, it
		// is the one that explains what is happening.
		c.rotate = c.fires && c.share >= cfg.CriticalShare && x >= 3*cfg.MinEvents
		if c.fires && c.excess > best.excess {
			best = c
		}
		if c.rotate && c.share > rotation.share {
			rotation = c
		}
		if c.z >= cfg.HoldZ && c.z > hold.z {
			hold = c
		}
	}
	sev := SeverityWarning
	c := best
	switch {
	case rotation.rotate:
		c, sev = rotation, SeverityCritical
	case best.fires:
		if c.z >= cfg.CriticalZ && c.x >= cfg.CriticalCount {
			sev = SeverityCritical
		}
	case hold.r.Minutes > 0:
		c, sev = hold, SeverityInfo
	default:
		return Finding{}, false
	}
	w := c.r.Minutes
	share := c.share
	fw := float64(w)
	base := fmt.Sprintf("%s rate, outlier hours capped", span(ref))
	f := Finding{
		Type: TypeSignatureFailures, Subject: SubjectAll, Key: Key(TypeSignatureFailures, SubjectAll), Severity: sev,
		WindowStart: windowStart(in.End, w), WindowEnd: in.End.Add(time.Minute),
		Observed: c.x / fw, Expected: c.mu / fw, Lower: 0, Upper: math.Max(c.r.Ratio*c.mu, cfg.MinEvents) / fw,
		Unit: "rejections/min", Score: c.z, Baseline: base,
	}
	hint := "probing or an attack?"
	if c.rotate {
		hint = "most deliveries rejected: a webhook secret rotation gone wrong?"
	}
	f.Explanation = fmt.Sprintf("%.0f deliveries with a bad signature in %d min (%s of deliveries) vs %.2f expected (%s), z=%.1f: %s",
		c.x, w, pct(share), c.mu, base, c.z, hint)
	return f, true
}

// stuckJourneys looks for a surge of journeys becoming stuck. The gauge's net
// rise is a poor statistic: stuck journeys also leave (an event arrives, a
// person works the list), at a rate that grows with the level, so the same
// surge shows as a large rise on a quiet evening and a small one after a busy
// day. The gauge's upward steps, summed, are almost exactly the journeys that
// became stuck; they are counts, so they get the same seasonal count baseline
// as event volumes (same time of day and week, Anscombe scale, median/MAD),
// and a surge is a spike of them. MinRise is the fewest extra stuck journeys
// worth a finding.
func (d *Detector) stuckJourneys(in *Input, lags seasonalLags, sc *scratch) (Finding, bool) {
	cfg := d.cfg.Stuck
	g := in.view(in.Stuck)
	v := stepsOf(g)
	type cand struct {
		r      Rule
		x, z   float64
		b      countBaseline
		excess float64
	}
	var best, hold cand
	for _, r := range cfg.Rules {
		if !v.has(0, r.Minutes) {
			continue
		}
		b, ok := d.countBaselineFor(v, lags, r.Minutes, 1, sc, false)
		if !ok {
			continue
		}
		x := v.sum(0, r.Minutes)
		z := b.z(x, true)
		mu := b.expected()
		thr := r.Z
		if b.recent {
			thr *= 1.25
		}
		c := cand{r: r, x: x, z: z, b: b, excess: z / thr}
		if z >= thr && x-mu >= cfg.MinRise && x >= r.Ratio*mu && c.excess > best.excess {
			best = c
		}
		if z >= cfg.HoldZ && x-mu >= cfg.MinRise/2 && z > hold.z {
			hold = c
		}
	}
	sev := SeverityWarning
	c := best
	switch {
	case best.excess > 0:
		if c.z >= cfg.CriticalZ && c.x-c.b.expected() >= cfg.CriticalRise && !c.b.recent {
			sev = SeverityCritical
		}
	case hold.r.Minutes > 0:
		c, sev = hold, SeverityInfo
	default:
		return Finding{}, false
	}
	w := c.r.Minutes
	band := c.r.Z * c.b.sigma
	f := Finding{
		Type: TypeStuckJourneys, Subject: SubjectAll, Key: Key(TypeStuckJourneys, SubjectAll), Severity: sev,
		WindowStart: windowStart(in.End, w), WindowEnd: in.End.Add(time.Minute),
		Observed: c.x, Expected: c.b.expected(), Lower: unanscombe(c.b.med - band), Upper: unanscombe(c.b.med + band),
		Unit: "journeys newly stuck", Score: c.z, Baseline: c.b.desc,
	}
	f.Explanation = fmt.Sprintf("%.0f journeys became stuck in %d min vs %.0f expected (normal up to %.0f; %s); %.0f stuck now, z=%.1f",
		c.x, w, f.Expected, f.Upper, c.b.desc, g.at(0), c.z)
	return f, true
}

// span prints a reference length in days or hours.
func span(minutes int) string {
	if minutes >= 24*60 && minutes%(24*60) == 0 {
		return fmt.Sprintf("%d-day", minutes/(24*60))
	}
	return fmt.Sprintf("%d-hour", (minutes+30)/60)
}

// pct prints a share as a percentage.
func pct(p float64) string {
	switch {
	case p >= 0.1:
		return fmt.Sprintf("%.0f%%", 100*p)
	case p >= 0.01:
		return fmt.Sprintf("%.1f%%", 100*p)
	default:
		return fmt.Sprintf("%.2f%%", 100*p)
	}
}

// secs prints a duration in seconds.
func secs(s float64) string {
	if s >= 120 {
		return fmt.Sprintf("%.0f min", s/60)
	}
	if s >= 10 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}
