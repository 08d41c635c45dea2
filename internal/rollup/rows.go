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
