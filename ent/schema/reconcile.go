package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SyncRun records one import from Dwolla's Events API: pages read, events
// seen, imported and already present. An interrupted run keeps its cursor
// so it can be resumed.
type SyncRun struct {
	ent.Schema
}

// Fields of the SyncRun.
func (SyncRun) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("running", "succeeded", "failed", "cancelled", "interrupted").Default("running").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("trigger").Values("schedule", "manual", "cli", "reconcile", "resume").Default("manual"),
		field.Time("since").Comment("Oldest event creation time wanted."),
		field.Int("pages").Default(0),
		field.Int("seen").Default(0),
		field.Int("imported").Default(0),
		field.Int("already_present").Default(0),
		field.Int("errors").Default(0),
		field.Int("next_offset").Default(0).Comment("Where a resumed run continues."),
		field.Int("total_reported").Default(0).Comment("Dwolla's total at the first page."),
		field.String("error").Optional(),
		field.Int("job_id").Optional(),
		field.Int("resumed_from").Optional().Comment("The interrupted run this one resumes."),
		field.Time("started_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("finished_at").Optional().Nillable(),
		field.Float("duration_ms").Optional().Nillable(),
	}
}

// Indexes of the SyncRun.
func (SyncRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("started_at"), index.Fields("status")}
}

// Annotations of the SyncRun.
func (SyncRun) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("syncRuns").Description("Imports from Dwolla's Events API, newest first by default."),
	}
}

// ReconciliationRun records one comparison of hooklens against Dwolla and
// against itself, with the health score it produced.
type ReconciliationRun struct {
	ent.Schema
}

// Fields of the ReconciliationRun.
func (ReconciliationRun) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("running", "succeeded", "failed", "cancelled", "interrupted").Default("running").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("trigger").Values("schedule", "manual", "cli").Default("manual"),
		field.Time("window_start").Comment("Oldest event time examined."),
		field.Time("window_end"),
		field.Int("dwolla_events").Default(0).Comment("Events Dwolla lists in the window."),
		field.Int("missing").Default(0).Comment("Of those, not stored here before this run."),
		field.Int("imported").Default(0),
		field.Int("failed_deliveries").Default(0),
		field.Int("never_sent").Default(0),
		field.Int("redelivery_requested").Default(0),
		field.Int("finding_count").Default(0),
		field.Float("health_score").Optional().Nillable().
			Annotations(entgql.OrderField("HEALTH_SCORE")),
		field.JSON("components", []map[string]any{}).Optional().
			Comment("The weighted parts of the health score.").
			Annotations(entgql.Skip()),
		field.JSON("stats", map[string]any{}).Optional().
			Comment("Duplicate analysis and other figures.").
			Annotations(entgql.Type("Map")),
		field.String("error").Optional(),
		field.Int("job_id").Optional(),
		field.Time("started_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("finished_at").Optional().Nillable(),
	}
}

// Edges of the ReconciliationRun.
func (ReconciliationRun) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("findings", ReconciliationFinding.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the ReconciliationRun.
func (ReconciliationRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("started_at")}
}

// Annotations of the ReconciliationRun.
func (ReconciliationRun) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("reconciliationRuns").Description("Reconciliation runs, newest first by default."),
	}
}

// ReconciliationFinding is one discrepancy a run found: an event Dwolla has
// and hooklens did not, a delivery that failed or was never sent, events
// stuck or dead-lettered, a journey contradicting its events.
type ReconciliationFinding struct {
	ent.Schema
}

// Fields of the ReconciliationFinding.
func (ReconciliationFinding) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values(
			"missing_event", "failed_delivery", "never_sent", "subscription_paused", "duplicate_deliveries",
			"stuck_event", "dead_lettered", "journey_inconsistent",
		).Annotations(entgql.OrderField("KIND")),
		field.Enum("severity").Values("info", "warning", "critical").Default("warning").
			Annotations(entgql.OrderField("SEVERITY")),
		field.String("subject").Comment("What it is about: an event id, a webhook id, a journey key."),
		field.String("topic").Optional(),
		field.String("resource_id").Optional(),
		field.String("detail").Comment("What was found, in words."),
		field.JSON("data", map[string]any{}).Optional().Annotations(entgql.Type("Map")),
		field.Enum("status").Values("open", "resolved").Default("open").
			Annotations(entgql.OrderField("STATUS")),
		field.Bool("auto_resolved").Default(false).Comment("Resolved by hooklens (e.g. the missing event was imported)."),
		field.Time("resolved_at").Optional().Nillable(),
		field.String("resolved_by").Optional(),
		field.String("resolution_note").Optional(),
		field.Int("run_id").Optional(),
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the ReconciliationFinding.
func (ReconciliationFinding) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("run", ReconciliationRun.Type).Ref("findings").Field("run_id").Unique(),
	}
}

// Indexes of the ReconciliationFinding.
func (ReconciliationFinding) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "kind"),
		index.Fields("kind", "subject"),
		index.Fields("created_at"),
	}
}

// Annotations of the ReconciliationFinding.
func (ReconciliationFinding) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("reconciliationFindings").Description("Findings of reconciliation runs, newest first by default."),
	}
}
