package evaluation

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/anomaly"
)

// Targets the detectors must meet on every evaluation.
const (
	TargetRecall            = 0.9 // per anomaly type
	TargetFalseAlarmsPerDay = 1.0 // all types together
)

// Episode is one anomaly the lifecycle opened during the replay.
type Episode struct {
	Key         string           // the anomaly's key
	Type        anomaly.Type     // its detector
	Open, Close int              // minute indices; Close is when it resolved (or the end)
	Severity    anomaly.Severity // the highest severity it reached
	Peak        anomaly.Finding  // its strongest finding
	// Plant is the index of the plant that explains it, or -1: a false
	// alarm.
	Plant int
}

// TypeStats are the scores of one anomaly type.
type TypeStats struct {
	Type                   anomaly.Type // the anomaly type scored
	Plants, Detected       int          // scored plants, and those detected
	Subtle, SubtleDetected int          // the same for plants with SNR < 10
	Delays                 []float64    // minutes from plant start to the anomaly opening
	Episodes, TruePositive int          // episodes of this type, and those a plant explains
}

// Recall is the share of plants detected (1 when there were none).
func (s TypeStats) Recall() float64 { return ratio(s.Detected, s.Plants) }

// Precision is the share of this type's episodes explained by a plant.
func (s TypeStats) Precision() float64 { return ratio(s.TruePositive, s.Episodes) }

// MeanDelay is the mean detection delay in minutes.
func (s TypeStats) MeanDelay() float64 {
	if len(s.Delays) == 0 {
		return math.NaN()
	}
	var t float64
	for _, d := range s.Delays {
		t += d
	}
	return t / float64(len(s.Delays))
}

// P90Delay is the 90th percentile of the detection delay in minutes.
func (s TypeStats) P90Delay() float64 {
	if len(s.Delays) == 0 {
		return math.NaN()
	}
	d := slices.Sorted(slices.Values(s.Delays))
	return d[int(math.Ceil(0.9*float64(len(d))))-1]
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Result is one or more replays' scores.
type Result struct {
	Seeds       []uint64     // the scenarios replayed
	ScoredDays  float64      // days replayed and scored
	Types       []*TypeStats // in anomaly.Types() order
	FalseAlarms []Episode    // episodes no plant explains
	Misses      []Plant      // scored plants no episode detected
	// Detected are the scored plants that were found.
	Detected []Plant
	// Minutes is how many minutes were replayed.
	Minutes int
}

// FalseAlarmsPerDay is the false alarms (episodes no plant explains) per
// scored day.
func (r *Result) FalseAlarmsPerDay() float64 {
	if r.ScoredDays == 0 {
		return 0
	}
	return float64(len(r.FalseAlarms)) / r.ScoredDays
}

// Pass reports whether the targets are met, and if not, why.
func (r *Result) Pass() (bool, []string) {
	var why []string
	for _, s := range r.Types {
		if s.Plants > 0 && s.Recall() < TargetRecall {
			why = append(why, fmt.Sprintf("%s recall %.2f < %.2f", s.Type, s.Recall(), TargetRecall))
		}
	}
	if fa := r.FalseAlarmsPerDay(); fa > TargetFalseAlarmsPerDay {
		why = append(why, fmt.Sprintf("%.2f false alarms/day > %.1f", fa, TargetFalseAlarmsPerDay))
	}
	return len(why) == 0, why
}

// grace is how long after a plant ends an anomaly of type t may still open
// and count: the detector's longest window still holds the plant's minutes.
func grace(t anomaly.Type) int {
	switch t {
	case anomaly.TypeSilence:
		return 15
	case anomaly.TypeFailureRate:
		return 360
	case anomaly.TypeStuckJourneys:
		return 180
	}
	return 60
}

// Replay runs det and lc over the scored part of sc minute by minute, exactly
// as production does (each minute sees only the minutes up to it, at most the
// detector's look-back), and scores the anomalies opened against the plants.
// Detect is pure, so the minutes are detected in parallel; the lifecycle then
// steps through them in order.
func Replay(sc *Scenario, det *anomaly.Detector, lc anomaly.Lifecycle) *Result {
	findings := detectAll(sc, det)
	var (
		active   []anomaly.Anomaly
		episodes []Episode
		openIdx  = map[string]int{}
	)
	for t := sc.ScoreStart; t < sc.Minutes; t++ {
		step := lc.Step(sc.Time(t), active, findings[t-sc.ScoreStart])
		active = step.Active
		for _, ch := range step.Changes {
			switch ch.Kind {
			case anomaly.ChangeOpened:
				openIdx[ch.Anomaly.Key] = len(episodes)
				episodes = append(episodes, Episode{Key: ch.Anomaly.Key, Type: ch.Anomaly.Type, Open: t, Close: sc.Minutes, Plant: -1})
			case anomaly.ChangeResolved:
				if i, ok := openIdx[ch.Anomaly.Key]; ok {
					episodes[i].Close = t
					episodes[i].Severity = ch.Anomaly.Severity
					episodes[i].Peak = ch.Anomaly.Peak
					delete(openIdx, ch.Anomaly.Key)
				}
			}
		}
	}
	for _, a := range active {
		if i, ok := openIdx[a.Key]; ok {
			episodes[i].Severity, episodes[i].Peak = a.Severity, a.Peak
		}
	}
	res := score(sc, episodes)
	res.Minutes = sc.Minutes - sc.ScoreStart
	return res
}

// detectAll runs det on every scored minute of sc, spread over the CPUs.
func detectAll(sc *Scenario, det *anomaly.Detector) [][]anomaly.Finding {
	lookback := int(det.Config().Lookback() / time.Minute)
	// Every series is prepared once for constant-time windows; each minute
	// the detector gets windows of them ending at that minute.
	volume, created, failed := map[string]*anomaly.Cumulative{}, map[string]*anomaly.Cumulative{}, map[string]*anomaly.Cumulative{}
	for _, f := range sc.Families {
		volume[f] = anomaly.NewCumulative(sc.Volume[f])
		if c, ok := sc.Created[f]; ok {
			created[f], failed[f] = anomaly.NewCumulative(c), anomaly.NewCumulative(sc.Failed[f])
		}
	}
	all, dups, bad := anomaly.NewCumulative(sc.All), anomaly.NewCumulative(sc.Duplicates), anomaly.NewCumulative(sc.BadSignature)
	processed, errs, stuck := anomaly.NewCumulative(sc.Processed), anomaly.NewCumulative(sc.Errors), anomaly.NewCumulative(sc.Stuck)
	lag := make([]*anomaly.Cumulative, len(sc.Lag))
	for b := range sc.Lag {
		lag[b] = anomaly.NewCumulative(sc.Lag[b])
	}

	out := make([][]anomaly.Finding, sc.Minutes-sc.ScoreStart)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			window := func(c *anomaly.Cumulative, lo, hi int) anomaly.Counts {
				v := c.Window(lo, hi)
				return &v
			}
			in := &anomaly.Input{
				Location: sc.Location, HistoryStart: sc.Start,
				Volume: map[string]anomaly.Counts{}, Outcomes: map[string]anomaly.Outcomes{},
				Lag: anomaly.Histogram{UpperBounds: sc.LagBounds, Counts: make([]anomaly.Counts, len(sc.Lag))},
			}
			for t := sc.ScoreStart + w; t < sc.Minutes; t += workers {
				lo, hi := max(0, t+1-lookback), t+1
				in.End = sc.Time(t)
				for _, f := range sc.Families {
					in.Volume[f] = window(volume[f], lo, hi)
					if c, ok := created[f]; ok {
						in.Outcomes[f] = anomaly.Outcomes{Created: window(c, lo, hi), Failed: window(failed[f], lo, hi)}
					}
				}
				in.Deliveries = anomaly.Deliveries{All: window(all, lo, hi), Duplicates: window(dups, lo, hi), BadSignature: window(bad, lo, hi)}
				in.Processing = anomaly.Processing{Processed: window(processed, lo, hi), Errors: window(errs, lo, hi)}
				for b := range lag {
					in.Lag.Counts[b] = window(lag[b], lo, hi)
				}
				in.Stuck = window(stuck, lo, hi)
				out[t-sc.ScoreStart] = det.Detect(in)
			}
		})
	}
	wg.Wait()
	return out
}

// score matches episodes to plants.
func score(sc *Scenario, episodes []Episode) *Result {
	res := &Result{Seeds: []uint64{sc.Seed}, ScoredDays: float64(sc.Minutes-sc.ScoreStart) / 1440}
	stats := map[anomaly.Type]*TypeStats{}
	for _, t := range anomaly.Types() {
		s := &TypeStats{Type: t}
		stats[t] = s
		res.Types = append(res.Types, s)
	}
	overlaps := func(e Episode, p Plant, t anomaly.Type) bool {
		return e.Open <= p.End+grace(t) && e.Close >= p.Start-5
	}
	for pi, p := range sc.Plants {
		if !p.Scored {
			continue
		}
		s := stats[p.Type]
		s.Plants++
		if p.Subtle() {
			s.Subtle++
		}
		delay := math.Inf(1)
		for _, e := range episodes {
			if slices.Contains(p.Keys, e.Key) && overlaps(e, p, e.Type) {
				delay = math.Min(delay, float64(max(e.Open-p.Start, 0)))
			}
		}
		if math.IsInf(delay, 1) {
			res.Misses = append(res.Misses, sc.Plants[pi])
			continue
		}
		s.Detected++
		if p.Subtle() {
			s.SubtleDetected++
		}
		s.Delays = append(s.Delays, delay)
		res.Detected = append(res.Detected, p)
	}
	for i := range episodes {
		e := &episodes[i]
		s := stats[e.Type]
		s.Episodes++
		for pi, p := range sc.Plants {
			if (slices.Contains(p.Keys, e.Key) || slices.Contains(p.Also, e.Key)) && overlaps(*e, p, e.Type) {
				e.Plant = pi
				break
			}
		}
		if e.Plant >= 0 {
			s.TruePositive++
		} else {
			res.FalseAlarms = append(res.FalseAlarms, *e)
		}
	}
	return res
}

// Combine pools several replays' scores into one (several seeds into one
// table). The inputs are not modified.
func Combine(results ...*Result) *Result {
	out := &Result{}
	for _, t := range anomaly.Types() {
		out.Types = append(out.Types, &TypeStats{Type: t})
	}
	for _, r := range results {
		out.Seeds = append(out.Seeds, r.Seeds...)
		out.ScoredDays += r.ScoredDays
		out.Minutes += r.Minutes
		out.FalseAlarms = append(out.FalseAlarms, r.FalseAlarms...)
		out.Misses = append(out.Misses, r.Misses...)
		out.Detected = append(out.Detected, r.Detected...)
		for i, s := range r.Types {
			t := out.Types[i]
			t.Plants += s.Plants
			t.Detected += s.Detected
			t.Subtle += s.Subtle
			t.SubtleDetected += s.SubtleDetected
			t.Delays = append(t.Delays, s.Delays...)
			t.Episodes += s.Episodes
			t.TruePositive += s.TruePositive
		}
	}
	return out
}

// WriteTable prints the scores as a Markdown table.
func (r *Result) WriteTable(w io.Writer) {
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(w, "seeds %s: %.0f scored days, %d minutes replayed\n\n", strings.Join(seeds, ", "), r.ScoredDays, r.Minutes)
	fmt.Fprintln(w, "| type | plants | recall | subtle recall (SNR<10) | precision | delay mean | delay p90 | false alarms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	fa := map[anomaly.Type]int{}
	for _, e := range r.FalseAlarms {
		fa[e.Type]++
	}
	for _, s := range r.Types {
		fmt.Fprintf(w, "| %s | %d | %.2f | %s | %.2f | %s | %s | %d |\n", s.Type, s.Plants, s.Recall(),
			fmtFrac(s.SubtleDetected, s.Subtle), s.Precision(), fmtMin(s.MeanDelay()), fmtMin(s.P90Delay()), fa[s.Type])
	}
	fmt.Fprintf(w, "\nfalse alarms: %d in %.0f days = %.2f/day (target ≤ %.1f); recall target ≥ %.2f per type\n",
		len(r.FalseAlarms), r.ScoredDays, r.FalseAlarmsPerDay(), TargetFalseAlarmsPerDay, TargetRecall)
	fmt.Fprintf(w, "\nrecall by oracle SNR, all types: %s\n", r.snrBands())
}

// snrBands summarises recall by the plants' oracle SNR.
func (r *Result) snrBands() string {
	bands := []float64{0, 8, 10, 20, 50, math.Inf(1)}
	var parts []string
	for i := 0; i+1 < len(bands); i++ {
		lo, hi := bands[i], bands[i+1]
		in := func(p Plant) bool { return p.SNR >= lo && p.SNR < hi }
		var found, total int
		for _, p := range r.Detected {
			if in(p) {
				found++
				total++
			}
		}
		for _, p := range r.Misses {
			if in(p) {
				total++
			}
		}
		if total == 0 {
			continue
		}
		label := fmt.Sprintf("%.0f–%.0f", lo, hi)
		switch {
		case lo == 0:
			label = fmt.Sprintf("<%.0f", hi)
		case math.IsInf(hi, 1):
			label = fmt.Sprintf("≥%.0f", lo)
		}
		parts = append(parts, fmt.Sprintf("%s %.2f (%d)", label, float64(found)/float64(total), total))
	}
	return strings.Join(parts, " · ")
}

// WriteDetails lists the misses and the false alarms.
func (r *Result) WriteDetails(w io.Writer) {
	for _, p := range r.Misses {
		fmt.Fprintf(w, "miss  %-18s %-22s start %6d len %4d SNR %5.1f  %s\n", p.Type, p.Subject, p.Start, p.End-p.Start, p.SNR, p.Magnitude)
	}
	for _, e := range r.FalseAlarms {
		fmt.Fprintf(w, "false %-40s open %6d close %6d  %s\n", e.Key, e.Open, e.Close, e.Peak.Explanation)
	}
}

func fmtFrac(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f (%d/%d)", float64(a)/float64(b), a, b)
}

func fmtMin(m float64) string {
	if math.IsNaN(m) {
		return "–"
	}
	return fmt.Sprintf("%.0f min", m)
}
