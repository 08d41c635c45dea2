package evaluation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/hooklens/hooklens/internal/anomaly"
)

// Options shape a synthetic scenario.
type Options struct {
	// Seed makes the scenario: the same seed gives the same traffic and the
	// same plants, bit for bit.
	Seed uint64
	// Days is the simulated span; WarmupDays of it is history only (the
	// detectors need weeks for their seasonal baselines), and the rest is
	// replayed minute by minute and scored.
	Days, WarmupDays int
	// PlantsPerWeek is how many anomalies of each type are planted per
	// simulated week (history included).
	PlantsPerWeek float64
	// MinSNR is the least oracle signal-to-noise ratio of a plant.
	MinSNR float64
	// Noise multiplies the traffic's day-to-day noise (the shared and
	// per-family daily level, and the failure rates' daily wander); 0 or
	// 1 is the calibrated level, 2 twice it. For robustness tables.
	Noise float64
	// Start is the first simulated minute; Location the business's zone.
	Start    time.Time
	Location *time.Location // see Start
}

// noise is Noise, 1 when unset.
func (o Options) noise() float64 {
	if o.Noise <= 0 {
		return 1
	}
	return o.Noise
}

// DefaultOptions returns six weeks, three of warm-up and three scored,
// starting on Monday 5 October 2026 in New York so that the scored weeks
// include the end of daylight-saving time (1 November).
func DefaultOptions(seed uint64) Options {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.FixedZone("EST", -5*3600)
	}
	return Options{
		Seed: seed, Days: 42, WarmupDays: 21, PlantsPerWeek: 7, MinSNR: 6,
		Start:    time.Date(2026, 10, 5, 0, 0, 0, 0, loc).UTC(),
		Location: loc,
	}
}

// Scenario is the synthetic per-minute traffic and the anomalies planted in
// it. Every series has one value per minute from Start.
type Scenario struct {
	Options
	// Minutes is the length of every series; ScoreStart the first minute
	// replayed and scored (the end of the warm-up).
	Minutes, ScoreStart int

	Families []string             // the topic families, in order
	Volume   map[string][]float64 // events per minute per family
	Created  map[string][]float64 // created per minute per business family
	Failed   map[string][]float64 // failed per minute per business family

	// All, Duplicates and BadSignature are the deliveries per minute.
	All, Duplicates, BadSignature []float64
	// Processed and Errors are the pipeline's attempts and failures.
	Processed, Errors []float64
	LagBounds         []float64   // the lag histogram's upper bounds, seconds
	Lag               [][]float64 // Lag[b][i]: deliveries in bucket b at minute i
	Stuck             []float64   // the stuck-journey gauge

	Plants []Plant // every anomaly planted, warm-up included
}

// Generate builds the scenario for o.
func Generate(o Options) (*Scenario, error) {
	if o.Days <= o.WarmupDays || o.WarmupDays < 1 || o.Location == nil {
		return nil, fmt.Errorf("evaluation options: need Days > WarmupDays ≥ 1 and a Location")
	}
	n := o.Days * 24 * 60
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	c := newClock(o.Start, o.Location, n)
	in := newIntensities(r, c, n, o.noise())
	fx := newEffects(n)
	p := &planner{r: r, in: in, n: n, scoreStart: o.WarmupDays * 24 * 60, minSNR: o.MinSNR,
		busy: map[string][][2]int{}, fx: fx}
	perType := int(math.Round(o.PlantsPerWeek * float64(o.Days) / 7))
	plants := p.plan(perType)

	sc := &Scenario{
		Options: o, Minutes: n, ScoreStart: p.scoreStart, Plants: plants,
		Volume: map[string][]float64{}, Created: map[string][]float64{}, Failed: map[string][]float64{},
		All: make([]float64, n), Duplicates: make([]float64, n), BadSignature: make([]float64, n),
		Processed: make([]float64, n), Errors: make([]float64, n), Stuck: make([]float64, n),
		LagBounds: lagBounds, Lag: make([][]float64, len(lagBounds)),
	}
	for b := range sc.Lag {
		sc.Lag[b] = make([]float64, n)
	}
	for _, f := range families {
		sc.Families = append(sc.Families, f.name)
		sc.Volume[f.name] = make([]float64, n)
		if f.failRate > 0 {
			sc.Created[f.name] = make([]float64, n)
			sc.Failed[f.name] = make([]float64, n)
		}
	}

	// Background noise that is not an incident: scanners that try a few
	// unsigned requests, and transient database errors a few at a time.
	scanners := make([]float64, n)
	blips := make([]float64, n)
	for d := 0; d < o.Days; d++ {
		for range int(poisson(r, 1)) {
			scanners[d*1440+r.IntN(1440)] += float64(1 + r.IntN(4))
		}
		for range int(poisson(r, 0.7)) {
			blips[d*1440+r.IntN(1440)] += float64(1 + r.IntN(4))
		}
	}

	q := make([]float64, len(lagBounds))
	stuck, pending := 60.0, 0.0
	for i := range n {
		accepted := !fx.down[i] && !fx.rotation[i]
		var u, lamU, lamSent float64
		for fi, f := range families {
			lam := in.fam[fi][i] * fx.famMult[fi][i]
			lamSent += lam
			if !accepted {
				continue
			}
			lamU += lam
			var v float64
			switch {
			case f.failRate > 0:
				pf := math.Min(in.failRate[fi][i]*fx.failMult[fi][i], 1)
				created := poisson(r, lam*f.createdShare)
				failed := poisson(r, lam*f.createdShare*pf)
				other := poisson(r, math.Max(lam*(1-f.createdShare)-lam*f.createdShare*in.failRate[fi][i], 0))
				sc.Created[f.name][i] = created
				sc.Failed[f.name][i] = failed
				v = created + failed + other
			case f.clump > 1:
				for range int(poisson(r, lam/f.clump)) {
					v += 1 + poisson(r, f.clump-1)
				}
			default:
				v = poisson(r, lam)
			}
			sc.Volume[f.name][i] = v
			u += v
		}
		if fx.down[i] {
			// Nothing reaches us; stuck journeys still evolve below.
		} else {
			dupRate := in.dupRate[i]
			if fx.dupRate[i] > 0 {
				dupRate = fx.dupRate[i]
			}
			var dup float64
			if accepted {
				dup = poisson(r, lamU*dupRate)
			}
			bad := poisson(r, badSigBase+fx.sigExtra[i]) + scanners[i]
			if fx.rotation[i] {
				bad += poisson(r, lamSent*(1+dupRate))
			}
			sc.Duplicates[i] = dup
			sc.BadSignature[i] = bad
			sc.All[i] = u + dup + bad
			sc.Processed[i] = u
			errRate := in.errRate[i]
			if fx.errRate[i] > 0 {
				errRate = fx.errRate[i]
			}
			if u > 0 {
				sc.Errors[i] = math.Min(poisson(r, lamU*errRate)+blips[i], u)
			}
			lagProbs(q, in.lagMed[i], fx.lagFrac[i], fx.lagDelay[i])
			for b := range q {
				sc.Lag[b][i] = poisson(r, lamU*q[b])
			}
		}
		// Stuck journeys: the sweep marks new ones every five minutes;
		// each stays stuck for stuckLife minutes on average; at 10:00 on
		// weekdays operations works through the list and clears a third.
		pending += poisson(r, in.stuckIn[i]+fx.stuckExtra[i])
		stuck -= math.Min(poisson(r, stuck/stuckLife), stuck)
		if cleanup(c, i) {
			stuck -= math.Floor(stuck / 3)
		}
		if i%5 == 0 {
			stuck += pending
			pending = 0
		}
		sc.Stuck[i] = stuck
	}
	return sc, nil
}

// Time is the start of minute i.
func (s *Scenario) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * time.Minute) }

// Input is what the detectors see at minute t: every series up to and
// including t, at most lookback minutes of it.
func (s *Scenario) Input(t, lookback int) *anomaly.Input {
	lo, hi := max(0, t+1-lookback), t+1
	cut := func(x []float64) anomaly.Counts { return anomaly.Series(x[lo:hi]) }
	in := &anomaly.Input{
		End: s.Time(t), Location: s.Location, HistoryStart: s.Start,
		Volume: map[string]anomaly.Counts{}, Outcomes: map[string]anomaly.Outcomes{},
		Deliveries: anomaly.Deliveries{All: cut(s.All), Duplicates: cut(s.Duplicates), BadSignature: cut(s.BadSignature)},
		Processing: anomaly.Processing{Processed: cut(s.Processed), Errors: cut(s.Errors)},
		Lag:        anomaly.Histogram{UpperBounds: s.LagBounds},
		Stuck:      cut(s.Stuck),
	}
	for _, f := range s.Families {
		in.Volume[f] = cut(s.Volume[f])
		if c, ok := s.Created[f]; ok {
			in.Outcomes[f] = anomaly.Outcomes{Created: cut(c), Failed: cut(s.Failed[f])}
		}
	}
	for _, b := range s.Lag {
		in.Lag.Counts = append(in.Lag.Counts, cut(b))
	}
	return in
}
