package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// APIToken is a bearer credential for the API and the dashboard. Only a hash
// of the token is stored; the token itself is shown once, when created.
type APIToken struct {
	ent.Schema
}

// Fields of the APIToken.
func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			NotEmpty().MaxLen(100),
		field.Enum("role").
			Values("admin", "viewer"),
		field.String("token_hash").
			Unique().Immutable().Sensitive().
			Comment("Hex SHA-256 of the token; tokens carry 256 random bits, so a fast hash is safe.").
			Annotations(entgql.Skip()),
		field.String("prefix").
			Immutable().
			Comment("The token's first characters, to recognise it in lists."),
		field.Time("created_at").
			Default(time.Now).Immutable(),
		field.Time("last_used_at").
			Optional().Nillable(),
		field.Time("expires_at").
			Optional().Nillable(),
		field.Time("revoked_at").
			Optional().Nillable(),
	}
}

// Edges of the APIToken.
func (APIToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("sessions", Session.Type).
			Annotations(entgql.Skip()),
	}
}

// Annotations of the APIToken.
func (APIToken) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("apiTokens").Directives(entgql.Directive{Name: "admin"}),
	}
}
