package analytics

import (
	"context"
	"time"

	"github.com/hooklens/hooklens/internal/rollup"
)

// tally is what a window holds for one topic (or one series point).
type tally struct {
	// d sums the rollup rows.
	d rollup.Delta
	// unrolled counts events received in the window that the rollups do not
	// hold: queued or processing for the first time, or dead-lettered
	// without ever being processed.
	unrolled int64
	// waiting counts events queued or being processed now (replays too).
	waiting int64
	// dead counts events dead-lettered now; deadUnrolled those of them never
	// processed.
	dead, deadUnrolled int64
}

// events is every distinct event received in the window: those the
// rollups counted when first processed plus those not processed yet.
func (t *tally) events() int64 { return t.d.Received + t.unrolled }

func (t *tally) add(o *tally) {
	t.d.Add(&o.d)
	t.unrolled += o.unrolled
	t.waiting += o.waiting
	t.dead += o.dead
	t.deadUnrolled += o.deadUnrolled
}

func (t *tally) addPending(r pendingRow) {
	if !r.RolledUp {
		t.unrolled += r.Events
	}
	if r.State == "failed" {
		t.dead += r.Events
		if !r.RolledUp {
			t.deadUnrolled += r.Events
		}
	} else {
		t.waiting += r.Events
	}
}

// windowData is a window's figures: per topic, and per series point.
type windowData struct {
	topics map[string]*tally
	// points holds the series (topics passing the filter); nil unless asked.
	points map[time.Time]*tally
	// topicPoints holds events per topic per point; nil unless asked.
	topicPoints map[string]map[time.Time]int64
}

func (wd *windowData) topic(name string) *tally {
	t, ok := wd.topics[name]
	if !ok {
		t = &tally{}
		wd.topics[name] = t
	}
	return t
}

func (wd *windowData) point(at time.Time) *tally {
	t, ok := wd.points[at]
	if !ok {
		t = &tally{}
		wd.points[at] = t
	}
	return t
}

func (wd *windowData) topicPoint(topic string, at time.Time, n int64) {
	m, ok := wd.topicPoints[topic]
	if !ok {
		m = map[time.Time]int64{}
		wd.topicPoints[topic] = m
	}
	m[at] += n
}

// total adds up the topics passing keep ("" is the topic of rejected
// deliveries).
func (wd *windowData) total(keep func(string) bool) *tally {
	var t tally
	for name, x := range wd.topics {
		if keep == nil || keep(name) {
			t.add(x)
		}
	}
	return &t
}

// collectOptions say what a window needs.
type collectOptions struct {
	// keep filters topics for the series (nil keeps all).
	keep func(topic string) bool
	// series asks for the time series; topicSeries for events per topic
	// per point as well.
	series, topicSeries bool
	// topics narrows the series' rows in SQL (keep still decides), with
	// its arguments.
	topics     string
	topicsArgs []any
}

// collect reads a window: totals per topic from the coarsest rows that
// cover it, the series from rows no coarser than its granularity, and the
// events the rollups do not hold yet. The queries run one after another:
// callers run windows in parallel.
func (s *Service) collect(ctx context.Context, w Window, o collectOptions) (*windowData, error) {
	wd := &windowData{topics: map[string]*tally{}}
	var pend []pendingRow
	type seriesRow struct {
		bucket time.Time
		topic  string
		d      rollup.Delta
	}
	var series []seriesRow
	fns := []func() error{
		func() error {
			q := rollupQuery{segs: cover(w.From, w.To, Day), byTopic: true}
			return s.sumRollups(ctx, q, func(_ time.Time, topic string, d *rollup.Delta) {
				wd.topic(topic).d.Add(d)
			})
		},
		func() (err error) {
			pend, err = s.pending(ctx, w.From, w.To)
			return err
		},
	}
	if o.series {
		q := rollupQuery{segs: cover(w.From, w.To, w.Granularity), byBucket: true, byTopic: o.keep != nil || o.topicSeries,
			cols: seriesColumns, topics: o.topics, topicsArgs: o.topicsArgs}
		fns = append(fns, func() error {
			return s.sumRollups(ctx, q, func(b time.Time, topic string, d *rollup.Delta) {
				series = append(series, seriesRow{b, topic, *d})
			})
		})
	}
	for _, fn := range fns {
		if err := fn(); err != nil {
			return nil, err
		}
	}
	for _, r := range pend {
		wd.topic(r.Topic).addPending(r)
	}
	if !o.series {
		return wd, nil
	}
	wd.points = map[time.Time]*tally{}
	if o.topicSeries {
		wd.topicPoints = map[string]map[time.Time]int64{}
	}
	keep := func(topic string) bool { return o.keep == nil || o.keep(topic) }
	for i := range series {
		r := &series[i]
		if !keep(r.topic) {
			continue
		}
		at := rollup.Truncate(r.bucket, w.Granularity)
		wd.point(at).d.Add(&r.d)
		if o.topicSeries && r.topic != "" {
			wd.topicPoint(r.topic, at, r.d.Received)
		}
	}
	for _, r := range pend {
		if !keep(r.Topic) {
			continue
		}
		at := rollup.Truncate(r.Minute, w.Granularity)
		wd.point(at).addPending(r)
		if o.topicSeries && !r.RolledUp {
			wd.topicPoint(r.Topic, at, r.Events)
		}
	}
	return wd, nil
}
