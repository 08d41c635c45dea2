package schema

import (
	"encoding/json"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// JourneyDefinition is a lifecycle hooklens follows (customer verification,
// micro-deposits, transfers, …). The spec is internal/journey's Definition
// as JSON; built-ins are seeded at start, custom ones are edited by admins.
type JourneyDefinition struct {
	ent.Schema
}

// Fields of the JourneyDefinition.
func (JourneyDefinition) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Unique().NotEmpty().
			Annotations(entgql.OrderField("KEY")),
		field.String("name").NotEmpty().
			Annotations(entgql.OrderField("NAME")),
		field.String("description").Optional(),
		field.Int("version").Default(1).
			Comment("Raised on every change of the spec."),
		field.Bool("enabled").Default(true),
		field.Bool("builtin").Default(false).
			Comment("Seeded by hooklens; editable, and restorable to the shipped version."),
		field.Bool("customized").Default(false).
			Comment("A built-in an admin edited: upgrades of hooklens no longer replace it."),
		field.JSON("spec", json.RawMessage{}).
			Comment("internal/journey.Definition as JSON.").
			Annotations(entgql.Skip()),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now),
	}
}

// Edges of the JourneyDefinition.
func (JourneyDefinition) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("instances", JourneyInstance.Type).
			Annotations(entgql.Skip()),
	}
}

// Annotations of the JourneyDefinition.
func (JourneyDefinition) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("journeyDefinitions").Description("Every journey definition, built-in and custom."),
	}
}

// JourneyInstance is one customer's, funding source's or transfer's walk
// through a definition. Its state is recomputed from its set of events, so
// arrival order and duplicates do not change it.
type JourneyInstance struct {
	ent.Schema
}

// Fields of the JourneyInstance.
func (JourneyInstance) Fields() []ent.Field {
	return []ent.Field{
		field.String("definition_key").NotEmpty(),
		field.Int("definition_version"),
		field.String("correlation_key").NotEmpty().
			Comment("The id grouping its events: a customer id or a resource id."),
		field.Enum("status").
			Values("active", "completed", "failed", "stuck", "abandoned").
			Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.String("current_step").Optional(),
		field.String("current_step_name").Optional(),
		field.Float("progress").Default(0).
			Comment("Percent of the path taken that is done; 100 on success.").
			Annotations(entgql.OrderField("PROGRESS")),
		field.Time("started_at").
			Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("last_event_at").
			Annotations(entgql.OrderField("LAST_EVENT_AT")),
		field.Time("ended_at").Optional().Nillable().
			Annotations(entgql.OrderField("ENDED_AT")),
		field.Float("duration_ms").Optional().Nillable().
			Comment("Start to end, for finished journeys whose first step was seen (0 when one event began and ended it); null while open and when the start was never seen, since the duration is then unknown.").
			Annotations(entgql.OrderField("DURATION")),
		field.String("outcome").Optional().
			Comment("How an ended journey ended: completed, cancelled, failed, returned, creation_failed, … (internal/journey.Outcome); empty while open.").
			Annotations(entgql.OrderField("OUTCOME")),
		field.String("end_topic").Optional().
			Comment("The topic of the event that ended the journey."),
		field.Bool("failed_after_success").Default(false).
			Comment("Completed, then failed: a transfer returned after it cleared."),
		field.Time("stuck_at").Optional().Nillable().
			Comment("When the journey becomes stuck if nothing happens (the current step's limit)."),
		field.Time("abandon_at").Optional().Nillable().
			Comment("When the journey is abandoned if nothing happens."),
		field.Time("stuck_since").Optional().Nillable(),
		field.String("note").Optional().
			Comment("Something notable, in words (e.g. failed after completing: a late return)."),
		field.JSON("timeline", json.RawMessage{}).Optional().
			Comment("The step timeline, internal/journey's state as JSON.").
			Annotations(entgql.Skip()),
		field.Int("event_count").Default(0),
		field.String("customer_id").Optional(),
		field.String("resource_id").Optional(),
		field.Int("definition_id").Optional(),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

// Edges of the JourneyInstance.
func (JourneyInstance) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("definition", JourneyDefinition.Type).
			Ref("instances").
			Field("definition_id").
			Unique(),
	}
}

// Indexes of the JourneyInstance.
func (JourneyInstance) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("definition_key", "correlation_key").Unique(),
		index.Fields("status", "stuck_at"),
		index.Fields("status", "abandon_at"),
		index.Fields("definition_key", "status", "started_at"),
		index.Fields("started_at"),
		index.Fields("correlation_key"),
		index.Fields("customer_id"),
	}
}

// Annotations of the JourneyInstance.
func (JourneyInstance) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("journeys").Description("Journey instances, most recently active first by default."),
		entgql.MultiOrder(),
	}
}

// JourneyMembership records that an event belongs to a journey's
// correlation key. It exists even before the journey's instance does: an
// event that may not open a journey still waits for the event that does,
// which may arrive later, and the instance is evaluated over all of them.
type JourneyMembership struct {
	ent.Schema
}

// Fields of the JourneyMembership.
func (JourneyMembership) Fields() []ent.Field {
	return []ent.Field{
		field.String("definition_key").NotEmpty(),
		field.String("correlation_key").NotEmpty(),
		field.Int("webhook_event_id"),
	}
}

// Edges of the JourneyMembership.
func (JourneyMembership) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("event", WebhookEvent.Type).
			Ref("journey_memberships").
			Field("webhook_event_id").
			Unique().Required(),
	}
}

// Indexes of the JourneyMembership.
func (JourneyMembership) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("definition_key", "correlation_key", "webhook_event_id").Unique(),
		index.Fields("webhook_event_id"),
	}
}

// Annotations of the JourneyMembership.
func (JourneyMembership) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
