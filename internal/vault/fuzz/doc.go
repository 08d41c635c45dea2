// Package fuzz holds the fuzz target of package vault's key parser. It
// lives apart from vault's own tests, whose receiver tests build a whole
// ingest stack on SQLite and PostgreSQL, so that `go test -fuzz`
// instruments and compiles only what the target needs; it has no code of
// its own.
package fuzz
