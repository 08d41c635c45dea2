package analytics

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// EventFilter selects the topics and the window of EventStats. Set
// filters combine with AND; an empty filter keeps every topic.
type EventFilter struct {
	// From and To bound the window (see NewWindow).
	From, To time.Time
	// Topics keeps only these topics.
	Topics []string
	// TopicPrefix keeps topics starting with it (e.g. "customer_transfer_").
	TopicPrefix string
	// Families keeps topics of these families (dwolla.Topic.Family; topics
	// outside the catalogue have family "").
	Families []string
	// Granularity of the series; "" picks one by the range.
	Granularity string
}

func (f EventFilter) keep() func(string) bool {
	return func(topic string) bool {
		if topic == "" {
			return false // rejected deliveries carry no topic
		}
		if len(f.Topics) > 0 && !slices.Contains(f.Topics, topic) {
			return false
		}
		if f.TopicPrefix != "" && !strings.HasPrefix(topic, f.TopicPrefix) {
			return false
		}
		if len(f.Families) > 0 {
			t, _ := dwolla.LookupTopic(topic)
			if !slices.Contains(f.Families, t.Family) {
				return false
			}
		}
		return true
	}
}

// sqlCondition narrows rollup rows to the filter's topics in SQL, so a
// narrow filter reads few rows ("" when it keeps every topic).
func (f EventFilter) sqlCondition() (string, []any) {
	var conds []string
	var args []any
	topics := f.Topics
	if len(f.Families) > 0 {
		var fam []string
		for _, t := range dwolla.Topics() {
			if slices.Contains(f.Families, t.Family) && (len(f.Topics) == 0 || slices.Contains(f.Topics, t.Name)) {
				fam = append(fam, t.Name)
			}
		}
		if slices.Contains(f.Families, "") {
			return "", nil // unknown topics have no family: filter in Go
		}
		if len(fam) == 0 {
			return "1 = 0", nil
		}
		topics = fam
	}
	if len(topics) > 0 {
		conds = append(conds, "topic IN ("+placeholders(len(topics))+")")
		for _, t := range topics {
			args = append(args, t)
		}
	}
	if f.TopicPrefix != "" {
		// substr, not LIKE: "_" is a LIKE wildcard and every topic has one.
		conds = append(conds, "substr(topic, 1, "+strconv.Itoa(len(f.TopicPrefix))+") = ?")
		args = append(args, f.TopicPrefix)
	}
	return strings.Join(conds, " AND "), args
}

// EventStats are the events page's figures for the topics a filter keeps.
type EventStats struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	PreviousFrom time.Time `json:"previousFrom"`
	Granularity  string    `json:"granularity"`

	// Events, Deliveries, Duplicates, Processed and DeadLettered add up the
	// kept topics, as in Overview.
	Events       Figure `json:"events"`
	Deliveries   Figure `json:"deliveries"`
	Duplicates   Figure `json:"duplicates"`
	Processed    Figure `json:"processed"`
	DeadLettered Figure `json:"deadLettered"`
	// ProcessingLatency of the kept topics.
	ProcessingLatency Latency `json:"processingLatency"`
	// Topics are the kept topics with events in either window, largest
	// first; each has its trend (Events.Change) and its own series, aligned
	// with Series.
	Topics []TopicStats `json:"topics"`
	// Series adds up the kept topics per point.
	Series []SeriesPoint `json:"series"`
}

// EventStats answers the events page: per-topic counts, trends and
// timelines for the topics f keeps.
func (s *Service) EventStats(ctx context.Context, f EventFilter) (*EventStats, error) {
	start := time.Now()
	defer func() { s.m.observe("event_stats", start) }()
	w, err := NewWindow(f.From, f.To, f.Granularity, s.now().UTC())
	if err != nil {
		return nil, err
	}
	keep := f.keep()
	var cur, prev *windowData
	err = s.parallel(ctx,
		func() (err error) {
			cond, args := f.sqlCondition()
			cur, err = s.collect(ctx, w, collectOptions{keep: keep, series: true, topicSeries: true, topics: cond, topicsArgs: args})
			return err
		},
		func() (err error) {
			prev, err = s.collect(ctx, w.previous(), collectOptions{})
			return err
		},
	)
	if err != nil {
		return nil, err
	}
	c, p := cur.total(keep), prev.total(keep)
	f2 := func(get func(t *tally) int64) Figure { return figure(float64(get(c)), float64(get(p))) }
	return &EventStats{
		From: w.From, To: w.To, PreviousFrom: w.PreviousFrom, Granularity: w.Granularity,
		Events:            f2((*tally).events),
		Deliveries:        f2(func(t *tally) int64 { return t.d.Deliveries }),
		Duplicates:        f2(func(t *tally) int64 { return t.d.Duplicates }),
		Processed:         f2(func(t *tally) int64 { return t.d.Processed }),
		DeadLettered:      f2(func(t *tally) int64 { return t.dead }),
		ProcessingLatency: latency(procHistogram(&c.d), procHistogram(&p.d)),
		Topics:            topicStats(cur, prev, keep, w.points()),
		Series:            seriesPoints(w, cur),
	}, nil
}
