// Package fuzz holds the fuzz target of package dwolla's signature check
// and event parser. It lives apart from dwolla's own tests so that
// `go test -fuzz` instruments and compiles only what the target needs,
// not the client tests and their HTTP servers; it has no code of its own.
package fuzz
