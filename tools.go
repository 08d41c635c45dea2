//go:build tools

// Package tools pins the code generators in go.mod so `make generate` is
// reproducible and `go mod tidy` keeps them.
package tools

import (
	_ "entgo.io/contrib/entgql"
	_ "entgo.io/ent/entc"
	_ "entgo.io/ent/entc/gen"
)
