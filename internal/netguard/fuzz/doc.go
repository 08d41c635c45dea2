// Package fuzz holds the fuzz targets of package netguard's prefix parser
// and client-address resolver. It lives apart from netguard's own tests,
// whose receiver tests build a whole ingest stack on SQLite and
// PostgreSQL, so that `go test -fuzz` instruments and compiles only what
// the targets need; it has no code of its own.
package fuzz
