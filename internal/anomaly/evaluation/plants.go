package evaluation

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/hooklens/hooklens/internal/anomaly"
)

// Plant is one anomaly planted in the synthetic traffic.
type Plant struct {
	Type anomaly.Type // what kind of anomaly
	// Subject is the family, "*" for every family at once, or
	// anomaly.SubjectAll.
	Subject string
	// Start and End are minute indices: the anomaly affects [Start, End).
	Start, End int
	// SNR is the oracle signal-to-noise ratio: the anomaly's effect on its
	// count over the first hour (six hours for failure rates, three for stuck
	// journeys) divided by that count's standard deviation under the true
	// generating model (Poisson or clumped counts, plus 10–30 % wander of
	// the rate). Plants below Options.MinSNR, or causing fewer than
	// minExcess extra events, are not planted: no method can tell them from
	// noise, and they are not incidents anyone would page for.
	SNR float64
	// Magnitude describes the anomaly for people.
	Magnitude string
	// Keys are the finding keys that detect the plant (any of them).
	Keys []string
	// Also are keys the plant legitimately triggers as a side effect (a
	// botched secret rotation silences every family): findings on them are
	// not false alarms, but they do not count as detecting the plant.
	Also []string
	// Scored is set on plants that start after the warm-up.
	Scored bool
}

// Subtle reports whether the plant is a hard one (SNR under 10).
func (p Plant) Subtle() bool { return p.SNR < 10 }

// effects are the changes plants make to the intensities, per minute.
type effects struct {
	famMult    [][]float64 // multiplier of each family's volume
	failMult   [][]float64 // multiplier of each family's failure rate
	lagFrac    []float64   // share of deliveries delayed
	lagDelay   []float64   // their delay, seconds
	dupRate    []float64   // overrides the duplicate rate when > 0
	errRate    []float64   // overrides the error rate when > 0
	sigExtra   []float64   // forged deliveries per minute
	rotation   []bool      // every delivery fails its signature check
	down       []bool      // nothing arrives at all (endpoint down, subscription paused)
	stuckExtra []float64   // extra stuck journeys per minute
}

func newEffects(n int) *effects {
	e := &effects{
		famMult: make([][]float64, len(families)), failMult: make([][]float64, len(families)),
		lagFrac: make([]float64, n), lagDelay: make([]float64, n), dupRate: make([]float64, n),
		errRate: make([]float64, n), sigExtra: make([]float64, n), rotation: make([]bool, n),
		down: make([]bool, n), stuckExtra: make([]float64, n),
	}
	for fi := range families {
		e.famMult[fi] = ones(n)
		e.failMult[fi] = ones(n)
	}
	return e
}

func ones(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// planner places plants on the timeline without overlaps on a channel.
type planner struct {
	r          *rand.Rand
	in         intensities
	n          int
	scoreStart int
	minSNR     float64
	busy       map[string][][2]int
	fx         *effects
}

// minExcess is the fewest extra (or missing) events a plant must cause over
// its first hour: fewer is not an incident anyone would page for, whatever
// its SNR (four failures where one was expected).
const minExcess = 10

// gap is the quiet time kept between two plants on the same channel, so each
// one's anomaly can resolve and be scored on its own.
const gap = 8 * 60

func (p *planner) free(channels []string, s, e int) bool {
	for _, ch := range channels {
		for _, iv := range p.busy[ch] {
			if s < iv[1]+gap && iv[0] < e+gap {
				return false
			}
		}
	}
	return true
}

func (p *planner) take(channels []string, s, e int) {
	for _, ch := range channels {
		p.busy[ch] = append(p.busy[ch], [2]int{s, e})
	}
}

func (p *planner) sum(series []float64, s, h int) float64 {
	var t float64
	for i := s; i < s+h && i < p.n; i++ {
		t += series[i]
	}
	return t
}

func (p *planner) sumTotal(s, h int) float64 {
	var t float64
	for fi := range families {
		t += p.sum(p.in.fam[fi], s, h)
	}
	return t
}

func familyKeys(t anomaly.Type) []string {
	keys := make([]string, len(families))
	for i, f := range families {
		keys[i] = anomaly.Key(t, f.name)
	}
	return keys
}

func volChannels() []string {
	ch := make([]string, len(families))
	for i, f := range families {
		ch[i] = "volume:" + f.name
	}
	return ch
}

// countSNR is the oracle signal-to-noise ratio of a change of delta in a
// count expected at e, with index of dispersion disp (clumped arrivals), whose
// rate wanders with coefficient of variation cv: for
// an increase, the z-score of the exact upper tail of the scaled Poisson with
// that mean and variance (a Gaussian ratio would overstate plants on counts of
// one or two); for a decrease, the Gaussian ratio, which is conservative there
// because a Poisson's lower tail is lighter than the normal's.
func countSNR(delta, e, disp, cv float64) float64 {
	if e <= 0 {
		return math.Inf(1)
	}
	v := disp*e + cv*cv*e*e
	if delta <= 0 {
		return -delta / math.Sqrt(v)
	}
	s := v / e
	x, mu := (e+delta)/s, e/s
	// log P(X ≥ x) for X ~ Poisson(mu), x > mu: first term times the
	// convergent series of ratios.
	lg, _ := math.Lgamma(x + 1)
	logTerm := -mu + x*math.Log(mu) - lg
	sum, term := 1.0, 1.0
	for k := 1.0; k < 20000 && term > 1e-12*sum; k++ {
		term *= mu / (x + k)
		sum += term
	}
	logP := logTerm + math.Log(sum)
	if logP > math.Log(0.5) {
		return 0
	}
	if logP < math.Log(1e-15) {
		// Erfcinv cannot go this far; z ≈ √(−2 log p − log(−4π log p))
		// is within a few hundredths here.
		return math.Sqrt(-2*logP - math.Log(-4*math.Pi*logP))
	}
	return math.Sqrt2 * math.Erfcinv(2*math.Exp(logP))
}

// try proposes one plant of type t starting at s; it reports false when the
// plant would not be observable or collides with another.
func (p *planner) try(t anomaly.Type, s int) (Plant, bool) {
	r := p.r
	switch t {
	case anomaly.TypeVolumeSpike, anomaly.TypeVolumeDrop:
		fi := r.IntN(len(families))
		f := families[fi]
		var d int
		var m float64
		if t == anomaly.TypeVolumeSpike {
			d, m = int(uniform(r, 15, 120)), logUniform(r, 1.5, 8)
		} else {
			d, m = int(uniform(r, 20, 180)), uniform(r, 0.1, 0.6)
		}
		e := p.sum(p.in.fam[fi], s, min(d, 60))
		snr := countSNR((m-1)*e, e, f.dispersion(), 0.1)
		ch := []string{"volume:" + f.name}
		if snr < p.minSNR || math.Abs(m-1)*e < minExcess || s+d > p.n || !p.free(ch, s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.famMult[fi][i] *= m
		}
		pl := Plant{Type: t, Subject: f.name, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("×%.2f for %d min", m, d), Keys: []string{anomaly.Key(t, f.name)}}
		if t == anomaly.TypeVolumeDrop {
			pl.Also = []string{anomaly.Key(anomaly.TypeSilence, f.name)}
		}
		return pl, true

	case anomaly.TypeSilence:
		d := int(uniform(r, 10, 120))
		if s+d > p.n {
			return Plant{}, false
		}
		if r.Float64() < 0.25 {
			// The whole feed stops: our endpoint is down or Dwolla paused the
			// subscription after repeated failures.
			best := 0.0
			for fi := range families {
				e := p.sum(p.in.fam[fi], s, min(d, 60)) / families[fi].dispersion()
				best = math.Max(best, countSNR(-e, e, 1, 0.1))
			}
			ch := append(volChannels(), "deliveries")
			if best < p.minSNR || !p.free(append(ch, "lag", "dup", "errors"), s, s+d) {
				return Plant{}, false
			}
			p.take(ch, s, s+d)
			for i := s; i < s+d; i++ {
				p.fx.down[i] = true
			}
			return Plant{Type: t, Subject: "*", Start: s, End: s + d, SNR: best,
				Magnitude: fmt.Sprintf("no deliveries at all for %d min", d),
				Keys:      familyKeys(anomaly.TypeSilence), Also: familyKeys(anomaly.TypeVolumeDrop)}, true
		}
		fi := r.IntN(len(families))
		f := families[fi]
		// Clumped arrivals are silent more often: what must fail to arrive
		// is e/D clumps.
		e := p.sum(p.in.fam[fi], s, min(d, 60)) / f.dispersion()
		snr := countSNR(-e, e, 1, 0.1)
		ch := []string{"volume:" + f.name}
		if snr < p.minSNR || !p.free(ch, s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.famMult[fi][i] = 0
		}
		return Plant{Type: t, Subject: f.name, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("no %s events for %d min", f.name, d),
			Keys:      []string{anomaly.Key(t, f.name)}, Also: []string{anomaly.Key(anomaly.TypeVolumeDrop, f.name)}}, true

	case anomaly.TypeFailureRate:
		var business []int
		for fi, f := range families {
			if f.failRate > 0 {
				business = append(business, fi)
			}
		}
		fi := business[r.IntN(len(business))]
		f := families[fi]
		d := int(uniform(r, 60, 360))
		k := logUniform(r, 1.8, 8)
		h := min(d, 360)
		var n, fails float64
		for i := s; i < s+h && i < p.n; i++ {
			c := p.in.fam[fi][i] * f.createdShare
			n += c
			fails += c * p.in.failRate[fi][i]
		}
		if n <= 0 {
			return Plant{}, false
		}
		pr := fails / n
		if k*pr > 0.6 {
			return Plant{}, false
		}
		snr := countSNR(fails*(k-1), fails, 1, failWander)
		ch := []string{"failure:" + f.name}
		if snr < p.minSNR || n < 50 || fails*(k-1) < minExcess || s+d > p.n || !p.free(ch, s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.failMult[fi][i] *= k
		}
		return Plant{Type: t, Subject: f.name, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("failure rate ×%.1f (%.1f%% → %.1f%%) for %d min", k, 100*pr, 100*k*pr, d),
			Keys:      []string{anomaly.Key(t, f.name)}}, true

	case anomaly.TypeDeliveryLag:
		d := int(uniform(r, 10, 90))
		frac := logUniform(r, 0.08, 1)
		delay := logUniform(r, 30, 900)
		n := p.sumTotal(s, min(d, 60))
		const pe = 0.013 // baseline share beyond 10 s
		snr := countSNR(n*frac*(1-pe), n*pe, 1, 0.2)
		ch := []string{"lag"}
		if snr < p.minSNR || n*frac < minExcess || s+d > p.n || !p.free(append(ch, "deliveries"), s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.lagFrac[i], p.fx.lagDelay[i] = frac, delay
		}
		return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("%.0f%% of deliveries %.0f s late for %d min", 100*frac, delay, d),
			Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}}, true

	case anomaly.TypeDuplicateRate:
		d := int(uniform(r, 15, 120))
		rate := logUniform(r, 0.02, 0.4)
		n := p.sumTotal(s, min(d, 60))
		snr := countSNR(n*(rate-dupBase), n*dupBase, 1, 0.3)
		ch := []string{"dup"}
		if snr < p.minSNR || n*(rate-dupBase) < minExcess || s+d > p.n || !p.free(append(ch, "deliveries"), s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.dupRate[i] = rate
		}
		return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("%.1f%% of deliveries are redeliveries for %d min", 100*rate, d),
			Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}}, true

	case anomaly.TypeProcessingErrors:
		d := int(uniform(r, 10, 120))
		rate := logUniform(r, 0.004, 0.3)
		n := p.sumTotal(s, min(d, 60))
		snr := countSNR(n*(rate-errBase), n*errBase, 1, 0.3)
		ch := []string{"errors"}
		if snr < p.minSNR || n*(rate-errBase) < minExcess || s+d > p.n || !p.free(append(ch, "deliveries"), s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.errRate[i] = rate
		}
		return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("%.1f%% of processing attempts fail for %d min", 100*rate, d),
			Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}}, true

	case anomaly.TypeSignatureFailures:
		if r.Float64() < 0.2 {
			// A secret rotation gone wrong: every delivery is rejected, so
			// every family also goes silent.
			d := int(uniform(r, 5, 60))
			n := p.sumTotal(s, min(d, 60))
			ch := append(volChannels(), "sig", "deliveries")
			if n < 20 || s+d > p.n || !p.free(append(ch, "lag", "dup", "errors"), s, s+d) {
				return Plant{}, false
			}
			p.take(ch, s, s+d)
			for i := s; i < s+d; i++ {
				p.fx.rotation[i] = true
			}
			also := append(familyKeys(anomaly.TypeSilence), familyKeys(anomaly.TypeVolumeDrop)...)
			return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: countSNR(n, badSigBase*float64(min(d, 60))+1, 1, 0),
				Magnitude: fmt.Sprintf("secret rotation: every delivery rejected for %d min", d),
				Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}, Also: also}, true
		}
		d := int(uniform(r, 10, 90))
		rate := logUniform(r, 0.3, 30)
		h := float64(min(d, 60))
		count := rate * h
		snr := countSNR(count, badSigBase*h+1, 1, 0)
		ch := []string{"sig"}
		if count < 8 || snr < p.minSNR || s+d > p.n || !p.free(ch, s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.sigExtra[i] = rate
		}
		return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("%.1f forged deliveries/min for %d min", rate, d),
			Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}}, true

	case anomaly.TypeStuckJourneys:
		d := int(uniform(r, 30, 180))
		extra := logUniform(r, 0.1, 3)
		h := min(d, 180)
		// The signal is in the journeys becoming stuck (a Poisson count);
		// the ones leaving are another matter.
		in := p.sum(p.in.stuckIn, s, h)
		snr := countSNR(extra*float64(h), in, 1, 0.1)
		ch := []string{"stuck"}
		if snr < p.minSNR || extra*float64(h) < minExcess || s+d > p.n || !p.free(ch, s, s+d) {
			return Plant{}, false
		}
		p.take(ch, s, s+d)
		for i := s; i < s+d; i++ {
			p.fx.stuckExtra[i] = extra
		}
		return Plant{Type: t, Subject: anomaly.SubjectAll, Start: s, End: s + d, SNR: snr,
			Magnitude: fmt.Sprintf("+%.2f stuck journeys/min for %d min", extra, d),
			Keys:      []string{anomaly.Key(t, anomaly.SubjectAll)}}, true
	}
	return Plant{}, false
}

// plan places count plants of every type at random times.
func (p *planner) plan(perType int) []Plant {
	var out []Plant
	lo := 2 * 24 * 60 // the first two days stay clean: even the fallback needs some history
	for _, t := range anomaly.Types() {
		placed := 0
		for attempt := 0; placed < perType && attempt < 400*perType; attempt++ {
			s := lo + p.r.IntN(p.n-lo-6*60)
			// Keep the hours before scoring starts clean, so no episode
			// straddles the start.
			if s < p.scoreStart && s+6*60 > p.scoreStart-gap {
				continue
			}
			pl, ok := p.try(t, s)
			if !ok {
				continue
			}
			pl.Scored = pl.Start >= p.scoreStart
			out = append(out, pl)
			placed++
		}
	}
	return out
}
