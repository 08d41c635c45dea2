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
// number of deliveries brought it. The row is also the pipeline's queue entry:
// it is durable and queued in the same insert (a transactional outbox).
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
		field.Enum("processing_state").
			Values("queued", "processing", "processed", "failed").
			Default("queued").
			Comment("failed means dead-lettered after the last attempt.").
			Annotations(entgql.OrderField("PROCESSING_STATE")),
		field.Int("attempts").
			Default(0).
			NonNegative(),
		field.Time("next_attempt_at").
			Comment("Earliest time a worker may claim the event."),
		field.Time("locked_until").
			Optional().Nillable().
			Comment("Lease of the worker processing the event; an expired lease may be taken over."),
		field.String("locked_by").
			Optional().
			Comment("Worker holding the lease."),
		field.String("last_error").
			Optional(),
		field.Float("processing_duration_ms").
			Optional().Nillable().
			Comment("Duration of the last successful processing."),
		field.Time("processed_at").
			Optional().Nillable().
			Annotations(entgql.OrderField("PROCESSED_AT")),
		field.Bool("rolled_up").
			Default(false).
			Comment("Counted in the metric rollups; replays never count an event twice.").
			Annotations(entgql.Skip()),
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
		// The queue: partial indexes hold only the rows waiting or leased,
		// so they stay small however many processed events the table keeps.
		index.Fields("next_attempt_at").
			StorageKey("webhookevent_queue_due").
			Annotations(entsql.IndexWhere("processing_state = 'queued'")),
		index.Fields("locked_until").
			StorageKey("webhookevent_queue_leased").
			Annotations(entsql.IndexWhere("processing_state = 'processing'")),
		index.Fields("received_at").
			StorageKey("webhookevent_dead_letters").
			Annotations(entsql.IndexWhere("processing_state = 'failed'")),
		index.Fields("processed_at"),
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
