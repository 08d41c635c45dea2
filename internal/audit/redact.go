package audit

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// SecretDirective marks, in the GraphQL schema, input fields and arguments
// whose values never reach the trail.
const SecretDirective = "secret"

// UseSchema lets the trail redact mutation variables by their position in
// schema: a value bound to a field or argument marked @secret is redacted
// whatever its variable is called. Call it before serving.
func (t *Trail) UseSchema(s *ast.Schema) { t.schema = s }

// redactBySchema returns a copy of vars with every value that reaches a
// @secret field or argument of op replaced by "[redacted]": a variable
// bound directly to one, and the @secret fields inside variables bound to
// input objects, however deeply nested.
func redactBySchema(s *ast.Schema, op *ast.OperationDefinition, vars map[string]any) map[string]any {
	if len(vars) == 0 || op == nil {
		return vars
	}
	w := secretWalker{schema: s, whole: map[string]bool{}, typed: map[string]*ast.Definition{}}
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			for _, a := range f.Arguments {
				secret := f.Definition != nil && argSecret(f.Definition.Arguments.ForName(a.Name))
				w.value(a.Value, secret)
			}
		}
	}
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		switch {
		case w.whole[k]:
			out[k] = redactedValue
		case w.typed[k] != nil:
			out[k] = w.redactTyped(v, w.typed[k])
		default:
			out[k] = v
		}
	}
	return out
}

const redactedValue = "[redacted]"

func argSecret(ad *ast.ArgumentDefinition) bool {
	return ad != nil && ad.Directives.ForName(SecretDirective) != nil
}

type secretWalker struct {
	schema *ast.Schema
	whole  map[string]bool            // variables bound to a secret position
	typed  map[string]*ast.Definition // variables holding input objects
}

// value notes the variables inside v, a value at a secret position or not.
func (w secretWalker) value(v *ast.Value, secret bool) {
	if v == nil {
		return
	}
	switch v.Kind {
	case ast.Variable:
		if secret {
			w.whole[v.Raw] = true
		} else if v.Definition != nil && v.Definition.Kind == ast.InputObject {
			w.typed[v.Raw] = v.Definition
		}
	case ast.ObjectValue:
		for _, c := range v.Children {
			var fd *ast.FieldDefinition
			if v.Definition != nil {
				fd = v.Definition.Fields.ForName(c.Name)
			}
			w.value(c.Value, secret || fieldSecret(fd))
		}
	case ast.ListValue:
		for _, c := range v.Children {
			w.value(c.Value, secret)
		}
	}
}

// redactTyped redacts the @secret fields of v, a variable's value of input
// type def.
func (w secretWalker) redactTyped(v any, def *ast.Definition) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = w.redactTyped(e, def)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			fd := def.Fields.ForName(k)
			switch {
			case fieldSecret(fd):
				out[k] = redactedValue
			case fd != nil && w.schema != nil && w.schema.Types[fd.Type.Name()] != nil && w.schema.Types[fd.Type.Name()].Kind == ast.InputObject:
				out[k] = w.redactTyped(e, w.schema.Types[fd.Type.Name()])
			default:
				out[k] = e
			}
		}
		return out
	}
	return v
}

func fieldSecret(fd *ast.FieldDefinition) bool {
	return fd != nil && fd.Directives.ForName(SecretDirective) != nil
}
