package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/usererr"
)

// objectAuth authorises by object type, not by the field that reaches an
// object: a type whose list is an @admin query field (apiTokens,
// auditLogs) is admin-only wherever it appears — through node, nodes, or an
// edge added later. It checks each field as it resolves, so no path to
// such an object can forget the check.
type objectAuth struct {
	adminOnly map[string]bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.FieldInterceptor
} = objectAuth{}

// newObjectAuth derives the admin-only types from the schema.
func newObjectAuth(s *ast.Schema) objectAuth {
	return objectAuth{adminOnly: AdminOnlyTypes(s)}
}

// AdminOnlyTypes returns the object types that only admins may read: those
// listed by a Query field marked @admin (a connection's node type for a
// connection).
func AdminOnlyTypes(s *ast.Schema) map[string]bool {
	out := map[string]bool{}
	if s.Query == nil {
		return out
	}
	for _, f := range s.Query.Fields {
		if f.Directives.ForName("admin") == nil {
			continue
		}
		name := f.Type.Name()
		if def := s.Types[name]; def != nil && strings.HasSuffix(name, "Connection") {
			if edges := def.Fields.ForName("edges"); edges != nil {
				if edge := s.Types[edges.Type.Name()]; edge != nil {
					if node := edge.Fields.ForName("node"); node != nil {
						name = node.Type.Name()
					}
				}
			}
		}
		if def := s.Types[name]; def != nil && def.Kind == ast.Object {
			out[name] = true
		}
	}
	return out
}

func (objectAuth) ExtensionName() string                   { return "ObjectAuthorization" }
func (objectAuth) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptField refuses every field of an admin-only object to a
// non-admin.
func (o objectAuth) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if fc := graphql.GetFieldContext(ctx); fc != nil && o.adminOnly[fc.Object] && !auth.FromContext(ctx).IsAdmin() {
		return nil, usererr.New(usererr.Forbidden, "%s objects are for admins only", fc.Object)
	}
	return next(ctx)
}
