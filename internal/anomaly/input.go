package anomaly

import (
	"sort"
	"time"
)

// Series is a per-minute series that ends at Input.End: the last element is
// the minute starting at End, the one before it the minute before, and so on.
// Minutes with no rows are zero. Its length is the history it carries: a
// detector never looks before the first element (or before
// Input.HistoryStart), so a system that has collected for two days passes two
// days and gets the short-history baselines instead of a baseline of zeros.
type Series []float64

// Outcomes are one business family's attempts and failures per minute, the two
// sides of its failure rate (Failed / Created over a window).
type Outcomes struct {
	// Created counts the attempts, e.g. transfer_created and
	// customer_transfer_created for the transfer family. Terminal outcomes
	// (success + failure) work as well and make the rate a true proportion.
	Created Series
	// Failed counts the failures: topics whose dwolla.Topic.Outcome is failure.
	Failed Series
}

// Deliveries are the webhook deliveries received per minute, accepted or not.
type Deliveries struct {
	// All counts every delivery: accepted, duplicate or rejected.
	All Series
	// Duplicates counts deliveries of an event id already stored. Dwolla
	// redelivers when our acknowledgement is late (REFERENCE.md §1), so a rise
	// means our acks are slow.
	Duplicates Series
	// BadSignature counts deliveries rejected for a missing or wrong
	// X-Request-Signature-SHA-256.
	BadSignature Series
}

// Processing is the pipeline's work per minute.
type Processing struct {
	// Processed counts processing attempts that finished, successfully or not.
	Processed Series
	// Errors counts the attempts among Processed that failed.
	Errors Series
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
	Counts []Series
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
	Volume map[string]Series
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
	Stuck Series
}

// Point is one minute's value, as a rollup query returns it.
type Point struct {
	Minute time.Time
	Value  float64
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

// view is a Series seen from the evaluation minute: index 0 is End, index k is
// k minutes earlier. limit is how far back data may be read. A steps view
// reads a gauge as its upward steps, max(g[k] − g[k+1], 0), without
// materialising them.
type view struct {
	s     Series
	limit int
	steps bool
}

func (in *Input) view(s Series) view {
	return view{s: s, limit: in.limit(len(s))}
}

// stepsOf returns the upward-steps view of a gauge view.
func stepsOf(g view) view {
	return view{s: g.s, limit: max(g.limit-1, 0), steps: true}
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
	hi := len(v.s) - 1 - ago
	lo := max(hi-w+1, len(v.s)-v.limit, 0)
	hi = min(hi, len(v.s)-1)
	var t float64
	if v.steps {
		for i := lo; i <= hi; i++ {
			if d := v.s[i] - v.s[i-1]; d > 0 {
				t += d
			}
		}
		return t
	}
	for _, x := range v.s[lo : hi+1] {
		t += x
	}
	return t
}

// at is the value ago minutes before End (zero outside the history).
func (v view) at(ago int) float64 {
	if ago < 0 || ago >= v.limit {
		return 0
	}
	i := len(v.s) - 1 - ago
	if v.steps {
		if d := v.s[i] - v.s[i-1]; d > 0 {
			return d
		}
		return 0
	}
	return v.s[i]
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
