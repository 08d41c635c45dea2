package anomaly

import (
	"sort"
	"time"
)

// Counts is a per-minute series as the detectors read it: element i is a
// minute, the last element is the minute starting at Input.End, missing
// minutes are zero, and the length is the history it carries (a detector
// never looks before the first element, or before Input.HistoryStart, so a
// system that has collected for two days passes two days and gets the
// short-history baselines instead of a baseline of zeros).
//
// Series, a plain slice, is the simple way to fill it from SQL. Cumulative
// answers every window in constant time, for callers that keep a rolling
// window in memory and for replays such as cmd/evalanomaly.
type Counts interface {
	// Len is the number of minutes.
	Len() int
	// At is element i.
	At(i int) float64
	// Sum adds elements [from, to).
	Sum(from, to int) float64
	// SquaredSteps adds (x[i] − x[i−1])² for i in [from, to); from ≥ 1.
	SquaredSteps(from, to int) float64
	// UpSteps adds max(x[i] − x[i−1], 0) for i in [from, to); from ≥ 1.
	UpSteps(from, to int) float64
}

// Series is a per-minute series held as a slice: see Counts.
type Series []float64

// Len implements Counts.
func (s Series) Len() int { return len(s) }

// At implements Counts.
func (s Series) At(i int) float64 { return s[i] }

// Sum implements Counts.
func (s Series) Sum(from, to int) float64 {
	var t float64
	for _, x := range s[from:to] {
		t += x
	}
	return t
}

// SquaredSteps implements Counts.
func (s Series) SquaredSteps(from, to int) float64 {
	var t float64
	for i := from; i < to; i++ {
		d := s[i] - s[i-1]
		t += d * d
	}
	return t
}

// UpSteps implements Counts.
func (s Series) UpSteps(from, to int) float64 {
	var t float64
	for i := from; i < to; i++ {
		if d := s[i] - s[i-1]; d > 0 {
			t += d
		}
	}
	return t
}

// Cumulative is a per-minute series prepared for constant-time windows: it
// keeps prefix sums of the values, of their squared steps and of their upward
// steps. Build it once with NewCumulative and take Windows of it; with
// integer counts the answers equal Series' exactly.
type Cumulative struct {
	sum, sq, up []float64 // prefix arrays over the whole series, len n+1
	off, n      int       // this window: elements [off, off+n)
}

// NewCumulative prepares s.
func NewCumulative(s []float64) *Cumulative {
	c := &Cumulative{sum: make([]float64, len(s)+1), sq: make([]float64, len(s)+1), up: make([]float64, len(s)+1), n: len(s)}
	for i, x := range s {
		c.sum[i+1] = c.sum[i] + x
		var d float64
		if i > 0 {
			d = x - s[i-1]
		}
		c.sq[i+1] = c.sq[i] + d*d
		c.up[i+1] = c.up[i] + max(d, 0)
	}
	return c
}

// Window returns elements [from, to) of the whole series, sharing its
// prefix arrays.
func (c *Cumulative) Window(from, to int) Cumulative {
	return Cumulative{sum: c.sum, sq: c.sq, up: c.up, off: from, n: to - from}
}

// Len implements Counts.
func (c *Cumulative) Len() int { return c.n }

// At implements Counts.
func (c *Cumulative) At(i int) float64 { return c.sum[c.off+i+1] - c.sum[c.off+i] }

// Sum implements Counts.
func (c *Cumulative) Sum(from, to int) float64 { return c.sum[c.off+to] - c.sum[c.off+from] }

// SquaredSteps implements Counts.
func (c *Cumulative) SquaredSteps(from, to int) float64 { return c.sq[c.off+to] - c.sq[c.off+from] }

// UpSteps implements Counts.
func (c *Cumulative) UpSteps(from, to int) float64 { return c.up[c.off+to] - c.up[c.off+from] }

// Outcomes are one business family's attempts and failures per minute, the two
// sides of its failure rate (Failed / Created over a window).
type Outcomes struct {
	// Created counts the attempts, e.g. transfer_created and
	// customer_transfer_created for the transfer family. Terminal outcomes
	// (success + failure) work as well and make the rate a true proportion.
	Created Counts
	// Failed counts the failures: topics whose dwolla.Topic.Outcome is failure.
	Failed Counts
}

// Deliveries are the webhook deliveries received per minute, accepted or not.
type Deliveries struct {
	// All counts every delivery: accepted, duplicate or rejected.
	All Counts
	// Duplicates counts deliveries of an event id already stored. Dwolla
	// redelivers when our acknowledgement is late (REFERENCE.md §1), so a rise
	// means our acks are slow.
	Duplicates Counts
	// BadSignature counts deliveries rejected for a missing or wrong
	// X-Request-Signature-SHA-256.
	BadSignature Counts
}

// Processing is the pipeline's work per minute.
type Processing struct {
	// Processed counts processing attempts that finished, successfully or not.
	Processed Counts
	// Errors counts the attempts among Processed that failed.
	Errors Counts
}

// Histogram holds per-minute counts of delivery lag (Dwolla's event created →
// our first receipt) in fixed buckets. Buckets, unlike percentiles, add up
// across minutes, which is what a window needs.
type Histogram struct {
	// UpperBounds are the buckets' inclusive upper bounds in seconds,
	// ascending; the last may be math.Inf(1).
	UpperBounds []float64
	// Counts[i] is the per-minute series of deliveries whose lag is in
	// (UpperBounds[i-1], UpperBounds[i]].
	Counts []Counts
}

// Input is everything the detectors see for one evaluation minute.
type Input struct {
	// End is the start of the last complete minute; every series ends there.
	End time.Time
	// Location is the time zone whose days and weeks shape the traffic (the
	// business's zone); seasonal lags are counted in its wall clock, so a
	// daylight-saving change does not shift the baseline by an hour. Nil
	// means UTC.
	Location *time.Location
	// HistoryStart, when set, is the first minute with trustworthy data;
	// earlier elements of every series are ignored.
	HistoryStart time.Time

	// Volume is the events received per minute per topic family
	// (dwolla.Topic.Family), duplicates excluded.
	Volume map[string]Counts
	// Outcomes are the created and failed counts per business family
	// (transfer, bank_transfer, microdeposits, customer_verification, …).
	Outcomes map[string]Outcomes
	// Deliveries are the HTTP deliveries received.
	Deliveries Deliveries
	// Processing is the pipeline's attempts and errors.
	Processing Processing
	// Lag is the delivery-lag histogram of first deliveries.
	Lag Histogram
	// Stuck is the number of journeys in the stuck state at each minute (a
	// gauge, not a count of new ones).
	Stuck Counts
}

// Point is one minute's value, as a rollup query returns it.
type Point struct {
	Minute time.Time // the minute (truncated) the value belongs to
	Value  float64   // the count for that minute
}

// SeriesFromPoints builds the Series of n minutes ending at end from sparse
// rollup rows: minutes without a row are zero, rows outside the range are
// ignored, and rows for the same minute add up.
func SeriesFromPoints(end time.Time, n int, points []Point) Series {
	s := make(Series, n)
	end = end.Truncate(time.Minute)
	for _, p := range points {
		ago := int(end.Sub(p.Minute.Truncate(time.Minute)) / time.Minute)
		if ago < 0 || ago >= n {
			continue
		}
		s[n-1-ago] += p.Value
	}
	return s
}

// view is a Counts seen from the evaluation minute: index 0 is End, index k
// is k minutes earlier. limit is how far back data may be read. A steps view
// reads a gauge as its upward steps, max(g[k] − g[k+1], 0).
type view struct {
	c     Counts
	n     int // c.Len()
	limit int
	steps bool
}

func (in *Input) view(c Counts) view {
	if c == nil {
		return view{c: Series(nil)}
	}
	n := c.Len()
	return view{c: c, n: n, limit: in.limit(n)}
}

// present reports whether a series was given at all.
func present(c Counts) bool { return c != nil && c.Len() > 0 }

// stepsOf returns the upward-steps view of a gauge view.
func stepsOf(g view) view {
	return view{c: g.c, n: g.n, limit: max(g.limit-1, 0), steps: true}
}

// limit caps a series' usable length at HistoryStart.
func (in *Input) limit(n int) int {
	if !in.HistoryStart.IsZero() {
		h := int(in.End.Sub(in.HistoryStart)/time.Minute) + 1
		if h < n {
			n = max(h, 0)
		}
	}
	return n
}

// has reports whether the window of w minutes ending ago minutes before End
// lies inside the history.
func (v view) has(ago, w int) bool { return ago >= 0 && ago+w <= v.limit }

// sum adds the w minutes ending ago minutes before End. The caller checks has
// first; the window is clipped to the history otherwise.
func (v view) sum(ago, w int) float64 {
	hi := min(v.n-ago, v.n)
	lo := max(hi-w, v.n-v.limit, 0)
	if lo >= hi {
		return 0
	}
	if v.steps {
		return v.c.UpSteps(lo, hi)
	}
	return v.c.Sum(lo, hi)
}

// at is the value ago minutes before End (zero outside the history).
func (v view) at(ago int) float64 {
	if ago < 0 || ago >= v.limit {
		return 0
	}
	i := v.n - 1 - ago
	if v.steps {
		return v.c.UpSteps(i, i+1)
	}
	return v.c.At(i)
}

// sortedKeys returns a map's keys in order, so findings come out in a stable
// order whatever Go's map iteration does.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
