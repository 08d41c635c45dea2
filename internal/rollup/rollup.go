// Package rollup maintains the per-minute, per-hour and per-day counters by
// topic that analytics read instead of scanning events. The pipeline adds
// to them in the same transaction that marks events processed, so a count
// is never lost or doubled; deliveries are added by a delayed aggregator.
//
// Latencies are fixed-bucket histograms (the bounds below), so percentiles
// over any range are sums of columns — the same SQL on SQLite and
// PostgreSQL. Bounds must never change without a rebuild.
package rollup

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent/schema"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/store"
)

// Buckets is the number of histogram buckets.
const Buckets = schema.RollupBuckets

// ProcBoundsMS are the upper bounds (inclusive, milliseconds) of the
// receipt → processed latency buckets; the last bucket is unbounded.
var ProcBoundsMS = [Buckets - 1]float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 3600000}

// LagBoundsMS are the upper bounds (milliseconds) of the Dwolla created →
// received delivery-lag buckets; the last bucket is unbounded.
var LagBoundsMS = [Buckets - 1]float64{100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000, 21600000, 86400000, 259200000}

// BucketOf returns the histogram bucket of v for bounds.
func BucketOf(bounds [Buckets - 1]float64, v float64) int {
	return sort.SearchFloat64s(bounds[:], v)
}

// Granularities of the rollups.
var Granularities = []string{"minute", "hour", "day"}

// Truncate aligns t to the start of its period of granularity (UTC).
func Truncate(t time.Time, granularity string) time.Time {
	t = t.UTC()
	switch granularity {
	case "hour":
		return t.Truncate(time.Hour)
	case "day":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(time.Minute)
}

// Delta is what to add to one rollup row.
type Delta struct {
	Received, ReceivedSync, Deliveries, Duplicates, Rejected, BadSignature int64
	Processed, DeadLettered, Retried                                       int64
	ProcCount                                                              int64
	ProcSumMS                                                              float64
	LagCount                                                               int64
	LagSumMS                                                               float64
	Proc, Lag                                                              [Buckets]int64
}

func (d *Delta) add(o *Delta) {
	d.Received += o.Received
	d.ReceivedSync += o.ReceivedSync
	d.Deliveries += o.Deliveries
	d.Duplicates += o.Duplicates
	d.Rejected += o.Rejected
	d.BadSignature += o.BadSignature
	d.Processed += o.Processed
	d.DeadLettered += o.DeadLettered
	d.Retried += o.Retried
	d.ProcCount += o.ProcCount
	d.ProcSumMS += o.ProcSumMS
	d.LagCount += o.LagCount
	d.LagSumMS += o.LagSumMS
	for i := range d.Proc {
		d.Proc[i] += o.Proc[i]
		d.Lag[i] += o.Lag[i]
	}
}

// ObserveProc records one receipt → processed latency.
func (d *Delta) ObserveProc(ms float64) {
	d.ProcCount++
	d.ProcSumMS += ms
	d.Proc[BucketOf(ProcBoundsMS, ms)]++
}

// ObserveLag records one created → received delivery lag.
func (d *Delta) ObserveLag(ms float64) {
	d.observeLag(ms)
}

// ObserveWebhookLag adds a webhook's Dwolla created → received lag, unless
// its created time is implausible (dwolla.CheckCreated): such an event is
// kept (it is signed) but left out of the lag, where one "0001-01-01"
// would turn a day's average into centuries.
func (d *Delta) ObserveWebhookLag(created, received time.Time) {
	if dwolla.CheckCreated(created, received) != "" {
		return
	}
	d.observeLag(float64(received.Sub(created).Microseconds()) / 1000)
}

func (d *Delta) observeLag(ms float64) {
	if ms < 0 {
		ms = 0 // clocks differ a little; a negative lag is "no lag"
	}
	d.LagCount++
	d.LagSumMS += ms
	d.Lag[BucketOf(LagBoundsMS, ms)]++
}

type key struct {
	granularity string
	bucket      time.Time
	topic       string
}

// Batch accumulates deltas by minute and topic.
type Batch struct {
	m map[key]*Delta
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{m: map[key]*Delta{}} }

// At returns the delta for the minute containing t and topic.
func (b *Batch) At(t time.Time, topic string) *Delta {
	k := key{"minute", Truncate(t, "minute"), topic}
	d, ok := b.m[k]
	if !ok {
		d = &Delta{}
		b.m[k] = d
	}
	return d
}

// Empty reports whether nothing was added.
func (b *Batch) Empty() bool { return len(b.m) == 0 }

// rows expands minute deltas to the three granularities, merged per row and
// sorted so concurrent writers lock rows in the same order.
func (b *Batch) rows() ([]key, map[key]*Delta) {
	all := map[key]*Delta{}
	for k, d := range b.m {
		for _, g := range Granularities {
			gk := key{g, Truncate(k.bucket, g), k.topic}
			acc, ok := all[gk]
			if !ok {
				acc = &Delta{}
				all[gk] = acc
			}
			acc.add(d)
		}
	}
	keys := make([]key, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		if a.granularity != c.granularity {
			return a.granularity < c.granularity
		}
		if !a.bucket.Equal(c.bucket) {
			return a.bucket.Before(c.bucket)
		}
		return a.topic < c.topic
	})
	return keys, all
}

var counterColumns = func() []string {
	cols := []string{"received", "received_sync", "deliveries", "duplicates", "rejected", "bad_signature",
		"processed", "dead_lettered", "retried", "proc_count", "proc_sum_ms", "lag_count", "lag_sum_ms"}
	for i := 0; i < Buckets; i++ {
		cols = append(cols, fmt.Sprintf("proc_b%02d", i))
	}
	for i := 0; i < Buckets; i++ {
		cols = append(cols, fmt.Sprintf("lag_b%02d", i))
	}
	return cols
}()

func (d *Delta) values() []any {
	v := []any{d.Received, d.ReceivedSync, d.Deliveries, d.Duplicates, d.Rejected, d.BadSignature,
		d.Processed, d.DeadLettered, d.Retried, d.ProcCount, d.ProcSumMS, d.LagCount, d.LagSumMS}
	for _, n := range d.Proc {
		v = append(v, n)
	}
	for _, n := range d.Lag {
		v = append(v, n)
	}
	return v
}

// rowsPerStatement keeps a statement's parameters under SQLite's limit.
const rowsPerStatement = 200

// Apply adds the batch to the rollups inside tx.
func Apply(ctx context.Context, db *store.DB, tx *sql.Tx, b *Batch) error {
	if b.Empty() {
		return nil
	}
	keys, deltas := b.rows()
	cols := append([]string{"granularity", "bucket", "topic"}, counterColumns...)
	var set strings.Builder
	for i, c := range counterColumns {
		if i > 0 {
			set.WriteString(", ")
		}
		fmt.Fprintf(&set, "%s = metric_rollups.%s + excluded.%s", c, c, c)
	}
	rowPH := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for start := 0; start < len(keys); start += rowsPerStatement {
		chunk := keys[start:min(start+rowsPerStatement, len(keys))]
		var q strings.Builder
		q.WriteString("INSERT INTO metric_rollups (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		for i, k := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(rowPH)
			args = append(args, k.granularity, k.bucket, k.topic)
			args = append(args, deltas[k].values()...)
		}
		q.WriteString(" ON CONFLICT (granularity, bucket, topic) DO UPDATE SET ")
		q.WriteString(set.String())
		if _, err := tx.ExecContext(ctx, db.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("updating rollups: %w", err)
		}
	}
	return nil
}
