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

// Session is a dashboard sign-in: an API token exchanged for an HttpOnly cookie.
// Sessions live in the database so every instance behind a load balancer
// honours them, and revoking a token ends its sessions.
type Session struct {
	ent.Schema
}

// Fields of the Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("session_hash").
			Unique().Immutable().Sensitive(),
		field.String("csrf_token").
			Immutable().Sensitive(),
		field.Time("created_at").
			Default(time.Now).Immutable(),
		field.Time("expires_at"),
		field.Time("last_seen_at"),
		field.String("remote_addr").
			Optional(),
		field.String("user_agent").
			Optional(),
		field.Int("token_id"),
	}
}

// Edges of the Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("token", APIToken.Type).
			Ref("sessions").
			Field("token_id").
			Unique().Required(),
	}
}

// Indexes of the Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("expires_at"),
	}
}

// Annotations of the Session.
func (Session) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(),
	}
}
