package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookEvent holds one Dwolla event, exactly once per Dwolla event id, whatever
// number of deliveries brought it. The row is written once and never rewritten
// by the pipeline: its queue state (attempts, next attempt, last error,
// processed time) lives in the narrow event_queue table owned by
// internal/store, inserted in the same statement as the event (a
// transactional outbox). Only a repeated delivery updates the row (its
// delivery count).
type WebhookEvent struct {
	ent.Schema
}

// Fields of the WebhookEvent.
func (WebhookEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("event_id").
			Unique().Immutable().NotEmpty().
			Comment("Dwolla's event id: the deduplication key.").
			Annotations(entgql.OrderField("EVENT_ID")),
		field.String("topic").
			NotEmpty().
			Comment("Topic from the body; Dwolla's X-Dwolla-Topic header is kept apart.").
			Annotations(entgql.OrderField("TOPIC")),
		field.String("header_topic").
			Optional().
			Comment("X-Dwolla-Topic of the first delivery, when it was sent."),
		field.Bool("topic_mismatch").
			Default(false).
			Comment("The header topic differs from the body topic."),
		field.Bool("topic_known").
			Default(true).
			Comment("The topic is in hooklens' catalogue; Dwolla adds topics, unknown ones are stored and flagged."),
		field.String("resource_type").
			Optional().
			Comment("Resource kind from _links.resource (transfers, customers, funding-sources, …)."),
		field.String("resource_id").
			Optional().
			Comment("resourceId, lower-cased so old upper-case transfer ids match."),
		field.String("customer_id").
			Optional().
			Comment("Customer id from _links.customer, when the event belongs to a customer."),
		field.String("account_id").
			Optional().
			Comment("Dwolla master account id from _links.account."),
		field.String("correlation_id").
			Optional().
			Comment("correlationId set at transfer creation, when present."),
		field.Time("created_at").
			Immutable().
			Comment("When Dwolla created the event (created, falling back to timestamp).").
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("received_at").
			Immutable().
			Comment("When hooklens first stored the event.").
			Annotations(entgql.OrderField("RECEIVED_AT")),
		field.Time("last_delivery_at").
			Comment("When the latest delivery of this event arrived."),
		field.Enum("source").
			Values("webhook", "sync", "reconcile").
			Default("webhook").
			Immutable().
			Comment("How the event reached hooklens: a webhook delivery, a sync from the Events API, or a reconciliation import."),
		field.Bytes("body").
			Immutable().
			Sensitive().
			Comment("The request body exactly as received (possibly encoded, see body_encoding).").
			Annotations(entgql.Skip()),
		field.String("body_encoding").
			Default("identity").
			Comment("How body is stored: identity, or an encryption key id.").
			Annotations(entgql.Skip()),
		field.String("body_sha256").
			Immutable().
			Comment("Lower-case hex SHA-256 of the raw body as received."),
		field.Int("body_size").
			Immutable().
			NonNegative(),
		field.Int("delivery_count").
			Default(1).
			Comment("Deliveries received for this event id, the first included.").
			Annotations(entgql.OrderField("DELIVERY_COUNT")),
	}
}

// Edges of the WebhookEvent.
func (WebhookEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("journey_memberships", JourneyMembership.Type).
			Annotations(entgql.Skip()),
	}
}

// Indexes of the WebhookEvent.
func (WebhookEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("received_at"),
		index.Fields("topic", "received_at"),
		index.Fields("created_at"),
		index.Fields("resource_id"),
		// Most events carry no customer or correlation id.
		index.Fields("customer_id").
			Annotations(entsql.IndexWhere("customer_id IS NOT NULL")),
		index.Fields("correlation_id").
			Annotations(entsql.IndexWhere("correlation_id IS NOT NULL")),
	}
}

// Annotations of the WebhookEvent.
func (WebhookEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("events").Description("Stored Dwolla events, newest first by default."),
		entgql.MultiOrder(),
	}
}
