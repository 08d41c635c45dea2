package scanner

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/analytics"
	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/rollup"
	"github.com/hooklens/hooklens/internal/store"
)

// Column names of the cached series.
const (
	colDeliveries   = "deliveries"
	colDuplicates   = "duplicates"
	colBadSignature = "bad_signature"
	colAttempts     = "attempts"
	colErrors       = "errors"
)

func volumeCol(family string) string  { return "volume:" + family }
func createdCol(family string) string { return "created:" + family }
func failedCol(family string) string  { return "failed:" + family }
func lagCol(i int) string             { return fmt.Sprintf("lag:%02d", i) }

// familyOf is a topic's family for the volume detectors; topics outside
// the catalogue are "unknown".
func familyOf(topic string) string {
	if t, ok := dwolla.LookupTopic(topic); ok && t.Family != "" {
		return t.Family
	}
	return "unknown"
}

// outcomeFamilies are the families with both success and failure topics:
// their failure rate is failures ÷ terminal outcomes, a true proportion
// (a failure may close a flow opened days before, so ÷ created is not).
var outcomeFamilies = func() map[string]bool {
	succ, fail := map[string]bool{}, map[string]bool{}
	for _, t := range dwolla.Topics() {
		switch t.Outcome {
		case dwolla.OutcomeSuccess:
			succ[t.Family] = true
		case dwolla.OutcomeFailure:
			fail[t.Family] = true
		}
	}
	out := map[string]bool{}
	for f := range fail {
		if succ[f] {
			out[f] = true
		}
	}
	return out
}()

// series holds per-minute series over a sliding window of n minutes ending
// at end (inclusive): index n-1 is the minute starting at end. It is
// rolled forward minute by minute and only the recent minutes are re-read,
// so a scan reads a few hours of rollups, not four weeks.
type series struct {
	n     int
	end   time.Time
	cols  map[string][]float64
	valid bool
}

func newSeries(n int) *series {
	return &series{n: n, cols: map[string][]float64{}}
}

func (s *series) col(name string) []float64 {
	c, ok := s.cols[name]
	if !ok {
		c = make([]float64, s.n)
		s.cols[name] = c
	}
	return c
}

// index returns the slot of minute m, or -1 outside the window.
func (s *series) index(m time.Time) int {
	ago := int(s.end.Sub(m) / time.Minute)
	if ago < 0 || ago >= s.n {
		return -1
	}
	return s.n - 1 - ago
}

// advance moves the window to end at end, dropping the oldest minutes and
// zeroing the new ones.
func (s *series) advance(end time.Time) {
	k := int(end.Sub(s.end) / time.Minute)
	s.end = end
	if k <= 0 {
		return
	}
	for _, c := range s.cols {
		if k >= s.n {
			clear(c)
			continue
		}
		copy(c, c[k:])
		clear(c[s.n-k:])
	}
}

// clearFrom zeroes every column from minute m on, before it is re-read.
func (s *series) clearFrom(m time.Time) {
	i := max(s.index(m), 0)
	if m.After(s.end) {
		return
	}
	for _, c := range s.cols {
		clear(c[i:])
	}
}

// load reads the minute rollups and the events not yet rolled up for
// minutes [from, s.end] into the window.
func (s *series) load(ctx context.Context, db *store.DB, from time.Time) error {
	cols := []string{"received", "deliveries", "duplicates", "rejected", "bad_signature", "processed", "retried", "dead_lettered"}
	for i := 0; i < rollup.Buckets; i++ {
		cols = append(cols, fmt.Sprintf("lag_b%02d", i))
	}
	q := "SELECT bucket, topic, " + strings.Join(cols, ", ") +
		" FROM metric_rollups WHERE granularity = 'minute' AND bucket >= ? AND bucket <= ?"
	rows, err := db.Read.QueryContext(ctx, db.Rebind(q), from, s.end)
	if err != nil {
		return fmt.Errorf("reading minute rollups: %w", err)
	}
	defer rows.Close()
	var lag [rollup.Buckets]int64
	for rows.Next() {
		var bucket any
		var topic string
		var received, deliveries, dups, rejected, badSig, processed, retried, dead int64
		dest := []any{&bucket, &topic, &received, &deliveries, &dups, &rejected, &badSig, &processed, &retried, &dead}
		for i := range lag {
			dest = append(dest, &lag[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("reading minute rollups: %w", err)
		}
		m, err := store.ScanTime(bucket)
		if err != nil {
			return err
		}
		i := s.index(m)
		if i < 0 {
			continue
		}
		s.col(colDeliveries)[i] += float64(deliveries + rejected)
		s.col(colDuplicates)[i] += float64(dups)
		s.col(colBadSignature)[i] += float64(badSig)
		s.col(colAttempts)[i] += float64(processed + retried + dead)
		s.col(colErrors)[i] += float64(retried + dead)
		for b, n := range lag {
			if n != 0 {
				s.col(lagCol(b))[i] += float64(n)
			}
		}
		if topic == "" {
			continue // rejected deliveries
		}
		s.addEvents(topic, i, float64(received))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading minute rollups: %w", err)
	}
	// Events received but not processed yet are not in the rollups: count
	// them too, or a backlog would read as a drop in traffic.
	pend, err := analytics.UnprocessedByMinute(ctx, db, from, s.end.Add(time.Minute))
	if err != nil {
		return err
	}
	for _, p := range pend {
		if i := s.index(p.Minute); i >= 0 && !p.RolledUp {
			s.addEvents(p.Topic, i, float64(p.Events))
		}
	}
	return nil
}

// addEvents counts n events of topic received in slot i.
func (s *series) addEvents(topic string, i int, n float64) {
	if n == 0 {
		return
	}
	fam := familyOf(topic)
	s.col(volumeCol(fam))[i] += n
	if !outcomeFamilies[fam] {
		return
	}
	t, _ := dwolla.LookupTopic(topic)
	switch t.Outcome {
	case dwolla.OutcomeSuccess:
		s.col(createdCol(fam))[i] += n
	case dwolla.OutcomeFailure:
		s.col(createdCol(fam))[i] += n
		s.col(failedCol(fam))[i] += n
	}
}

// lagBounds are the lag histogram's upper bounds in seconds.
var lagBounds = func() []float64 {
	out := make([]float64, rollup.Buckets)
	for i, ms := range rollup.LagBoundsMS {
		out[i] = ms / 1000
	}
	out[rollup.Buckets-1] = math.Inf(1)
	return out
}()

// input builds the detectors' Input from the window. Each series is
// handed over as prefix sums (anomaly.Cumulative): the detectors sum many
// windows over four weeks of minutes, each then in constant time.
func (s *series) input(stuck []float64, historyStart time.Time, loc *time.Location) *anomaly.Input {
	counts := func(name string) anomaly.Counts { return anomaly.NewCumulative(s.col(name)) }
	in := &anomaly.Input{
		End: s.end, Location: loc, HistoryStart: historyStart,
		Volume:   map[string]anomaly.Counts{},
		Outcomes: map[string]anomaly.Outcomes{},
		Deliveries: anomaly.Deliveries{
			All: counts(colDeliveries), Duplicates: counts(colDuplicates), BadSignature: counts(colBadSignature),
		},
		Processing: anomaly.Processing{Processed: counts(colAttempts), Errors: counts(colErrors)},
		Lag:        anomaly.Histogram{UpperBounds: lagBounds, Counts: make([]anomaly.Counts, rollup.Buckets)},
		Stuck:      anomaly.NewCumulative(stuck),
	}
	for i := range in.Lag.Counts {
		in.Lag.Counts[i] = counts(lagCol(i))
	}
	for name := range s.cols {
		if fam, ok := strings.CutPrefix(name, "volume:"); ok {
			in.Volume[fam] = counts(name)
		}
	}
	for fam := range outcomeFamilies {
		if _, ok := s.cols[createdCol(fam)]; ok {
			in.Outcomes[fam] = anomaly.Outcomes{Created: counts(createdCol(fam)), Failed: counts(failedCol(fam))}
		}
	}
	return in
}
