package rollup

import "time"

// Row is one rollup row: a granularity, the start of its period, a topic
// and its counters.
type Row struct {
	Granularity string
	Bucket      time.Time
	Topic       string
	Delta       *Delta
}

// Rows expands the batch's minute deltas to minute, hour and day rows,
// merged per row, in a stable order. Bulk writers (internal/bulkgen) copy
// them instead of calling Apply.
func (b *Batch) Rows() []Row {
	keys, deltas := b.rows()
	out := make([]Row, len(keys))
	for i, k := range keys {
		out[i] = Row{Granularity: k.granularity, Bucket: k.bucket, Topic: k.topic, Delta: deltas[k]}
	}
	return out
}

// Columns are the counter columns of metric_rollups, in the order of
// Delta.Values.
func Columns() []string { return append([]string(nil), counterColumns...) }

// Values returns the counters in Columns order.
func (d *Delta) Values() []any { return d.values() }

// Fields returns pointers to the counters in Columns order, for scanning
// sums of rollup rows into a Delta.
func (d *Delta) Fields() []any {
	f := []any{&d.Received, &d.ReceivedSync, &d.Deliveries, &d.Duplicates, &d.Rejected, &d.BadSignature,
		&d.Processed, &d.DeadLettered, &d.Retried, &d.ProcCount, &d.ProcSumMS, &d.LagCount, &d.LagSumMS}
	for i := range d.Proc {
		f = append(f, &d.Proc[i])
	}
	for i := range d.Lag {
		f = append(f, &d.Lag[i])
	}
	return f
}

// Add adds o to d.
func (d *Delta) Add(o *Delta) { d.add(o) }
