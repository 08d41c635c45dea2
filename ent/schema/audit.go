package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditLog is the append-only, hash-chained trail of every mutation,
// sign-in, token use and admin action, and of checkpoints over the stored
// events' body hashes. Each row's hash covers the previous row's hash, so an
// edited or deleted row breaks the chain; on PostgreSQL a trigger refuses
// UPDATE and DELETE outright.
type AuditLog struct {
	ent.Schema
}

// Fields of the AuditLog.
func (AuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("seq").Unique().Immutable().
			Comment("Position in the chain, from 1, without gaps.").
			Annotations(entgql.OrderField("SEQ")),
		field.Time("at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("AT")),
		field.String("actor").Immutable().
			Comment("Who: a token name, \"system\", or \"cli\"."),
		field.Enum("actor_kind").Values("token", "session", "system", "cli").Immutable(),
		field.Int("actor_token_id").Optional().Immutable(),
		field.String("action").Immutable().
			Comment("What, e.g. mutation.replayEvents, session.create, token.revoke, events.checkpoint."),
		field.String("target").Optional().Immutable(),
		field.JSON("detail", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Type("Map")),
		field.String("remote_addr").Optional().Immutable(),
		field.String("request_id").Optional().Immutable(),
		field.String("prev_hash").Immutable(),
		field.String("hash").Immutable(),
	}
}

// Indexes of the AuditLog.
func (AuditLog) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("at"),
		index.Fields("action", "at"),
	}
}

// Annotations of the AuditLog.
func (AuditLog) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("auditLogs").Directives(entgql.Directive{Name: "admin"}).
			Description("The audit trail, newest first by default (admin only)."),
	}
}
