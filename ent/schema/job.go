package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Job is long-running background work — a bulk replay, a sync, a
// reconciliation, a rollup rebuild, a key rotation — with progress that
// every instance can read and a cancel flag any instance can set.
type Job struct {
	ent.Schema
}

// Fields of the Job.
func (Job) Fields() []ent.Field {
	return []ent.Field{
		field.String("kind").
			NotEmpty().
			Comment("replay, sync, reconcile, rollup_rebuild, journey_reevaluate, key_rotation, …").
			Annotations(entgql.OrderField("KIND")),
		field.Enum("status").
			Values("pending", "running", "succeeded", "failed", "cancelled", "interrupted").
			Default("pending").
			Annotations(entgql.OrderField("STATUS")),
		field.String("description").
			Optional().
			Comment("What the job does, in words (e.g. the replay filter)."),
		field.Int("total").
			Default(0).
			Comment("Units of work expected; 0 while unknown."),
		field.Int("done").
			Default(0),
		field.Int("failed").
			Default(0),
		field.String("stage").
			Optional().
			Comment("Current phase, in words."),
		field.JSON("params", map[string]any{}).
			Optional().
			Annotations(entgql.Type("Map")),
		field.JSON("result", map[string]any{}).
			Optional().
			Annotations(entgql.Type("Map")),
		field.String("error").
			Optional(),
		field.String("created_by").
			Optional(),
		field.String("instance").
			Optional().
			Comment("The hooklens instance running the job."),
		field.Bool("cancel_requested").
			Default(false),
		field.Time("created_at").
			Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("started_at").
			Optional().Nillable(),
		field.Time("heartbeat_at").
			Optional().Nillable().
			Comment("Refreshed while running; a stale heartbeat means the instance died."),
		field.Time("finished_at").
			Optional().Nillable(),
	}
}

// Indexes of the Job.
func (Job) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("kind", "created_at"),
		index.Fields("status"),
	}
}

// Annotations of the Job.
func (Job) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("jobs").Description("Background jobs, newest first by default."),
	}
}
