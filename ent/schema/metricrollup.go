package schema

import (
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RollupBuckets is the number of histogram buckets per latency histogram;
// the bucket bounds live in internal/rollup.
const RollupBuckets = 16

// MetricRollup holds counters for one topic over one minute, hour or day.
// Analytics read these instead of scanning events, so answers over months
// stay fast. Latencies are fixed-bucket histograms, summed across rows to
// get percentiles the same way on SQLite and PostgreSQL.
type MetricRollup struct {
	ent.Schema
}

// Fields of the MetricRollup.
func (MetricRollup) Fields() []ent.Field {
	fields := []ent.Field{
		field.Enum("granularity").Values("minute", "hour", "day"),
		field.Time("bucket").Comment("Start of the period, UTC."),
		field.String("topic").Comment("Event topic; empty for deliveries with no readable topic (rejections)."),
		field.Int64("received").Default(0).Comment("Distinct events stored (first receipt), by receipt time."),
		field.Int64("received_sync").Default(0).Comment("Of received: imported from the Events API rather than delivered."),
		field.Int64("deliveries").Default(0).Comment("Accepted webhook deliveries, duplicates included."),
		field.Int64("duplicates").Default(0).Comment("Deliveries of an event already stored."),
		field.Int64("rejected").Default(0).Comment("Deliveries refused (signature, malformed, too large, rate limited, unavailable, …)."),
		field.Int64("bad_signature").Default(0).Comment("Of rejected: bad or missing signature."),
		field.Int64("processed").Default(0).Comment("Events processed for the first time."),
		field.Int64("dead_lettered").Default(0).Comment("Events moved to failed after their last attempt."),
		field.Int64("retried").Default(0).Comment("Processing attempts that failed and were rescheduled."),
		field.Int64("proc_count").Default(0),
		field.Float("proc_sum_ms").Default(0).Comment("Sum of receipt → processed latencies."),
		field.Int64("lag_count").Default(0),
		field.Float("lag_sum_ms").Default(0).Comment("Sum of Dwolla created → received lags (webhooks only)."),
	}
	for i := 0; i < RollupBuckets; i++ {
		fields = append(fields, field.Int64(fmt.Sprintf("proc_b%02d", i)).Default(0))
	}
	for i := 0; i < RollupBuckets; i++ {
		fields = append(fields, field.Int64(fmt.Sprintf("lag_b%02d", i)).Default(0))
	}
	return fields
}

// Indexes of the MetricRollup.
func (MetricRollup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("granularity", "bucket", "topic").Unique(),
	}
}

// Annotations of the MetricRollup.
func (MetricRollup) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
