package graph

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/hooklens/hooklens/internal/usererr"
)

// inputError recognises the errors gqlgen and entgql return when an
// argument cannot be decoded (a malformed cursor, time or id) and turns
// them into a BAD_USER_INPUT error carrying the reason. They are the
// caller's mistakes, not the server's: the presenter must not mask them as
// internal errors nor log them as such.
func inputError(err error) (*usererr.Error, bool) {
	var num *strconv.NumError
	var tp *time.ParseError
	switch {
	case strings.Contains(err.Error(), "cannot decode cursor"):
		// entgql's Cursor.UnmarshalGQL: "cannot decode cursor: <reason>".
		return usererr.New(usererr.Invalid, "%s: pass a cursor exactly as a connection's pageInfo or edges returned it", reason(err, "cannot decode cursor")), true
	case errors.As(err, &num):
		return usererr.New(usererr.Invalid, "%q is not a valid id: ids are the numbers the API returns", num.Num), true
	case errors.As(err, &tp):
		return usererr.New(usererr.Invalid, "%q is not an RFC 3339 time like 2026-12-01T00:00:00Z", tp.Value), true
	}
	return nil, false
}

// reason returns err's message from prefix on (gqlgen prefixes the input
// path, which the error's path already carries).
func reason(err error, prefix string) string {
	msg := err.Error()
	if i := strings.Index(msg, prefix); i >= 0 {
		return msg[i:]
	}
	return msg
}

// isInput presents err as BAD_USER_INPUT when it is an argument that could
// not be decoded, and reports whether it was.
func isInput(err error, gerr *gqlerror.Error) bool {
	ue, ok := inputError(err)
	if !ok {
		return false
	}
	gerr.Message = ue.Message
	setCode(gerr, string(ue.Kind))
	return true
}
