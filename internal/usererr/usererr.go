// Package usererr defines the errors hooklens shows to API clients as they
// are. Any other error is internal: clients get a generic message and the
// detail goes to the log. REST maps a Kind to an HTTP status in web, and
// GraphQL maps it to extensions.code in graph; nowhere else.
package usererr

import (
	"errors"
	"fmt"
)

// Kind is a stable, machine-readable error class.
type Kind string

// Kinds of user-facing errors.
const (
	Invalid      Kind = "BAD_USER_INPUT"
	NotFound     Kind = "NOT_FOUND"
	Forbidden    Kind = "FORBIDDEN"
	Conflict     Kind = "CONFLICT"
	Unavailable  Kind = "UNAVAILABLE"
	Unauthorized Kind = "UNAUTHENTICATED"
)

// Error is an error whose message is safe to show.
type Error struct {
	Kind    Kind
	Message string
	Field   string // the offending input field, when there is one
}

func (e *Error) Error() string { return e.Message }

// New returns a user-facing error.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Message: fmt.Sprintf(format, args...), Field: field}
}

// As returns the user-facing error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
