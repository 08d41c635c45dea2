package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookDelivery records one HTTP delivery to the receiver, accepted or not.
// Duplicates, bad signatures and floods are analysed from here; a rejected
// delivery keeps the body's size and hash, never the body.
type WebhookDelivery struct {
	ent.Schema
}

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.Time("received_at").
			Immutable().
			Annotations(entgql.OrderField("RECEIVED_AT")),
		field.String("remote_addr").
			Optional().Immutable(),
		field.Enum("outcome").
			Values(
				"accepted", "duplicate", "bad_signature", "malformed", "too_large",
				"rate_limited", "unavailable", "forbidden", "not_configured",
			).
			Immutable().
			Annotations(entgql.OrderField("OUTCOME")),
		field.Int("status_code").
			Immutable(),
		field.Float("latency_ms").
			Immutable().
			Comment("Time from the request's arrival to the answer being ready."),
		field.Int("body_size").
			Immutable().NonNegative(),
		field.String("body_sha256").
			Optional().Immutable(),
		field.String("dwolla_event_id").
			Optional().Immutable().
			Comment("Event id claimed by the body, once the signature held."),
		field.String("topic_header").
			Optional().Immutable().
			Comment("X-Dwolla-Topic as sent."),
		field.String("user_agent").
			Optional().Immutable(),
		field.String("request_id").
			Optional().Immutable(),
		field.String("reason").
			Optional().Immutable().
			Comment("Why the delivery was rejected, in words."),
		field.Int("webhook_event_id").
			Optional().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("event", WebhookEvent.Type).
			Ref("deliveries").
			Field("webhook_event_id").
			Unique().Immutable(),
	}
}

// Indexes of the WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("received_at"),
		index.Fields("outcome", "received_at"),
		index.Fields("webhook_event_id"),
	}
}

// Annotations of the WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("deliveries").Description("Every delivery received, accepted or rejected, newest first by default."),
	}
}
