// Package scalar holds the Go side of hooklens' custom GraphQL scalars.
// It must never depend on resolvers or storage.
package scalar

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/hooklens/hooklens/internal/usererr"
)

// TimeLayout is the one form every Time leaves the API in: RFC 3339 in UTC
// with exactly nine fractional digits, so that times compare correctly as
// text ("…05.000000000Z" sorts before "…05.523556703Z") and keep the
// nanoseconds the database stores.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatTime writes t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// MarshalTime writes a Time as a fixed-width RFC 3339 string. The zero time
// is null, as gqlgen's own scalar does.
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(FormatTime(t)))
	})
}

// UnmarshalTime reads an RFC 3339 time with any number of fractional
// digits. A malformed one is the caller's mistake (BAD_USER_INPUT), with
// the reason.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, usererr.New(usererr.Invalid, "a Time must be an RFC 3339 string like 2026-12-01T00:00:00Z, not %s", typeName(v))
	}
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usererr.New(usererr.Invalid, "%q is not an RFC 3339 time like 2026-12-01T00:00:00Z", s)
	}
	return t, nil
}

func typeName(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("a %T", v)
}
