package analytics

import (
	"time"

	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/usererr"
)

// Granularities of a time series, finest first.
const (
	Minute = "minute"
	Hour   = "hour"
	Day    = "day"
)

// maxPoints caps a series so that a careless request cannot ask for a
// year of minutes.
const maxPoints = 3000

// maxRange caps a query's range.
const maxRange = 3 * 366 * 24 * time.Hour

// AutoGranularity picks a series granularity for a range: minutes up to six
// hours (≤ 360 points), hours up to eight days (≤ 192), days beyond.
func AutoGranularity(d time.Duration) string {
	switch {
	case d <= 6*time.Hour:
		return Minute
	case d <= 8*24*time.Hour:
		return Hour
	}
	return Day
}

func step(granularity string) time.Duration {
	switch granularity {
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	}
	return time.Minute
}

// Window is a validated time range [From, To) aligned to whole minutes, the
// finest grain of the rollups, with the previous period of equal length.
type Window struct {
	From, To     time.Time
	PreviousFrom time.Time
	Granularity  string
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// NewWindow validates a range: from is rounded down and to up to whole
// minutes (so "now" includes the current minute), to defaults to now and
// from to 24 hours before to; granularity "" picks AutoGranularity.
func NewWindow(from, to time.Time, granularity string, now time.Time) (Window, error) {
	if to.IsZero() {
		to = now
	}
	if t := to.UTC().Truncate(time.Minute); t.Before(to) {
		to = t.Add(time.Minute)
	} else {
		to = t
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	from = from.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return Window{}, usererr.Field("from", "from must be before to")
	}
	if to.Sub(from) > maxRange {
		return Window{}, usererr.Field("from", "the range may not exceed %d days", int(maxRange/(24*time.Hour)))
	}
	switch granularity {
	case "":
		granularity = AutoGranularity(to.Sub(from))
	case Minute, Hour, Day:
	default:
		return Window{}, usererr.Field("granularity", "granularity must be minute, hour or day")
	}
	if n := int(to.Sub(rollup.Truncate(from, granularity)) / step(granularity)); n > maxPoints {
		return Window{}, usererr.Field("granularity", "a %s series over this range has %d points; at most %d are allowed", granularity, n, maxPoints)
	}
	return Window{From: from, To: to, PreviousFrom: from.Add(-to.Sub(from)), Granularity: granularity}, nil
}

// previous is the window of equal length just before w.
func (w Window) previous() Window {
	return Window{From: w.PreviousFrom, To: w.From, PreviousFrom: w.PreviousFrom.Add(-w.Duration()), Granularity: w.Granularity}
}

// segment is a run of rollup rows of one granularity: buckets in [from, to).
type segment struct {
	granularity string
	from, to    time.Time
}

// cover returns segments of rollup rows that add up to exactly [from, to)
// (both whole minutes), using rows no coarser than coarsest: day rows in
// the middle, hour and then minute rows towards the partial edges. At most
// five segments; at most 2×59 minute and 2×23 hour buckets beyond the days.
func cover(from, to time.Time, coarsest string) []segment {
	var out []segment
	add := func(g string, a, b time.Time) {
		if a.Before(b) {
			out = append(out, segment{g, a, b})
		}
	}
	if coarsest == Minute {
		add(Minute, from, to)
		return out
	}
	fromH, toH := ceil(from, Hour), rollup.Truncate(to, Hour)
	if !fromH.Before(toH) {
		add(Minute, from, to)
		return out
	}
	add(Minute, from, fromH)
	add(Minute, toH, to)
	if coarsest == Hour {
		add(Hour, fromH, toH)
		return out
	}
	fromD, toD := ceil(fromH, Day), rollup.Truncate(toH, Day)
	if !fromD.Before(toD) {
		add(Hour, fromH, toH)
		return out
	}
	add(Hour, fromH, fromD)
	add(Hour, toD, toH)
	add(Day, fromD, toD)
	return out
}

// ceil rounds t up to a whole period of granularity.
func ceil(t time.Time, granularity string) time.Time {
	f := rollup.Truncate(t, granularity)
	if f.Before(t) {
		if granularity == Day {
			return f.AddDate(0, 0, 1)
		}
		return f.Add(step(granularity))
	}
	return f
}

// points returns the starts of the series points of w.
func (w Window) points() []time.Time {
	var out []time.Time
	for t := rollup.Truncate(w.From, w.Granularity); t.Before(w.To); t = t.Add(step(w.Granularity)) {
		out = append(out, t)
	}
	return out
}
