// Package ent holds the generated ent client. Only schema/, entc.go and this
// file are written by hand; run `make generate` from the repository root.
package ent

//go:generate sh -c "cd .. && go run -mod=mod ./ent/entc.go"
