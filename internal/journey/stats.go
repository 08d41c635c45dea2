package journey

import (
	"math"
	"slices"
	"time"
)

// Stats summarises many instances of one definition: the funnel. The
// pipeline computes the same figures in SQL for large volumes; this is the
// reference those queries are tested against, so every figure is defined in
// docs/journeys.md in terms a query can reproduce.
type Stats struct {
	// Definition is the key of the summarised journey.
	Definition string `json:"definition"`
	// Instances counts the instances summarised; Excluded ones (belonging to
	// another journey) are left out and only counted here.
	Instances int `json:"instances"`
	Excluded  int `json:"excluded"`
	// ByStatus counts instances per status; every status is present.
	ByStatus map[Status]int `json:"byStatus"`
	// ByOutcome counts ended instances per outcome (cancelled, returned,
	// …); only outcomes that occur are present.
	ByOutcome map[Outcome]int `json:"byOutcome"`
	// Steps is the funnel, in step order.
	Steps []StepStats `json:"steps"`
	// Completion summarises the durations of completed instances whose
	// start was seen; Completion.Unknown counts those left out.
	Completion DurationStats `json:"completion"`
}

// StepStats is one step of the funnel.
type StepStats struct {
	// Key and Name identify the step.
	Key  string `json:"key"`
	Name string `json:"name"`
	// Reached counts instances that reached the step; ReachRate is that
	// share of Instances.
	Reached   int     `json:"reached"`
	ReachRate float64 `json:"reachRate"`
	// Missed counts instances that passed the step without its event.
	Missed int `json:"missed"`
	// DroppedOff counts instances that stopped here for good: their
	// furthest step is this one and they failed or were abandoned.
	// DropOffRate is that share of Reached.
	DroppedOff  int     `json:"droppedOff"`
	DropOffRate float64 `json:"dropOffRate"`
	// Waiting counts open (active or stuck) instances whose furthest step
	// is this one.
	Waiting int `json:"waiting"`
	// OverLimit counts instances that reached the step later than its
	// limit allows.
	OverLimit int `json:"overLimit"`
	// MedianSincePrevious is the median time from the previous step on
	// the path, over instances that reached this step after another.
	MedianSincePrevious Duration `json:"medianSincePrevious"`
}

// DurationStats summarises durations. Percentiles are nearest-rank (the
// smallest value with at least p% of values at or below it), which is what
// PostgreSQL's percentile_disc computes.
type DurationStats struct {
	// Count is the number of durations; Avg their mean; P50 and P90 the
	// nearest-rank percentiles.
	Count int      `json:"count"`
	Avg   Duration `json:"avg"`
	P50   Duration `json:"p50"`
	P90   Duration `json:"p90"`
	// Unknown counts the instances left out because their duration is
	// unknown: their first step was never seen (State.StartUnseen).
	Unknown int `json:"unknown"`
}

// Funnel computes the funnel of states, which should all come from one
// definition. (It is not called Stats because Go will not let a function
// and the type it returns share a name.)
func Funnel(states []State) Stats {
	f := NewFunnelBuilder()
	for _, st := range states {
		f.Add(st)
	}
	return f.Stats()
}

// FunnelBuilder computes a funnel one state at a time, so a caller can
// stream stored timelines without holding them all: it keeps only counters
// and one duration per reached step.
type FunnelBuilder struct {
	s          Stats
	index      map[string]int
	sincePrev  [][]time.Duration
	completion []time.Duration
	unknown    int
}

// NewFunnelBuilder returns an empty builder.
func NewFunnelBuilder() *FunnelBuilder {
	f := &FunnelBuilder{s: Stats{ByStatus: map[Status]int{}, ByOutcome: map[Outcome]int{}}, index: map[string]int{}}
	for _, status := range []Status{StatusActive, StatusCompleted, StatusFailed, StatusStuck, StatusAbandoned} {
		f.s.ByStatus[status] = 0
	}
	return f
}

// Add counts one state.
func (f *FunnelBuilder) Add(st State) {
	s := &f.s
	if s.Definition == "" {
		s.Definition = st.Definition
	}
	if st.Excluded {
		s.Excluded++
		return
	}
	s.Instances++
	s.ByStatus[st.Status]++
	if st.Outcome != "" {
		s.ByOutcome[st.Outcome]++
	}
	if st.Status == StatusCompleted {
		if st.DurationKnown() {
			f.completion = append(f.completion, time.Duration(st.Duration))
		} else {
			f.unknown++
		}
	}
	first := slices.IndexFunc(st.Steps, func(x StepState) bool { return x.Reached })
	for i, step := range st.Steps {
		j, ok := f.index[step.Key]
		if !ok {
			j = len(s.Steps)
			f.index[step.Key] = j
			s.Steps = append(s.Steps, StepStats{Key: step.Key, Name: step.Name})
			f.sincePrev = append(f.sincePrev, nil)
		}
		out := &s.Steps[j]
		if step.Reached {
			out.Reached++
			if !step.WithinLimit {
				out.OverLimit++
			}
			if i > first {
				f.sincePrev[j] = append(f.sincePrev[j], time.Duration(step.SincePrevious))
			}
		}
		if step.Missed {
			out.Missed++
		}
		if step.Key == st.FurthestStep {
			switch st.Status {
			case StatusFailed, StatusAbandoned:
				out.DroppedOff++
			case StatusActive, StatusStuck:
				out.Waiting++
			}
		}
	}
}

// Stats returns the funnel of the states added so far.
func (f *FunnelBuilder) Stats() Stats {
	s := f.s
	s.Steps = slices.Clone(f.s.Steps)
	for j := range s.Steps {
		out := &s.Steps[j]
		out.ReachRate = ratio(out.Reached, s.Instances)
		out.DropOffRate = ratio(out.DroppedOff, out.Reached)
		out.MedianSincePrevious = Duration(percentile(f.sincePrev[j], 50))
	}
	s.Completion = summarise(f.completion)
	s.Completion.Unknown = f.unknown
	return s
}

func summarise(ds []time.Duration) DurationStats {
	if len(ds) == 0 {
		return DurationStats{}
	}
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return DurationStats{
		Count: len(ds),
		Avg:   Duration(time.Duration(math.Round(sum / float64(len(ds))))),
		P50:   Duration(percentile(ds, 50)),
		P90:   Duration(percentile(ds, 90)),
	}
}

// percentile is the nearest-rank percentile of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[max(rank, 1)-1]
}

// ratio is a share rounded to four decimals, so JSON stays readable.
func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(10000*float64(n)/float64(of)) / 10000
}
