package graph

import (
	"strings"
	"testing"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent"
)

func TestReceivedAtBound(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 123, time.UTC)
	desc := []*ent.WebhookEventOrder{{Field: ent.WebhookEventOrderFieldReceivedAt, Direction: entgql.OrderDirectionDesc}}
	asc := []*ent.WebhookEventOrder{{Field: ent.WebhookEventOrderFieldReceivedAt, Direction: entgql.OrderDirectionAsc}}
	for _, v := range []any{at, at.Format(time.RFC3339Nano), []any{at}} {
		c := &entgql.Cursor[int]{ID: 7, Value: v}
		require.NotNil(t, receivedAtBound(desc, c, nil), "%T", v)
		require.NotNil(t, receivedAtBound(asc, nil, c), "%T", v)
	}
	require.Nil(t, receivedAtBound(desc, nil, nil), "no cursor, no bound")
	require.Nil(t, receivedAtBound([]*ent.WebhookEventOrder{{Field: ent.WebhookEventOrderFieldTopic}}, &entgql.Cursor[int]{Value: at}, nil))
	require.Nil(t, receivedAtBound(desc, &entgql.Cursor[int]{Value: 42}, nil), "an unreadable value adds nothing")
}

// TestCursorValueRoundTrip: the bound reads the time from a cursor as the
// API hands it out and gets it back.
func TestCursorValueRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 123000, time.UTC)
	for _, v := range []any{at, []any{at}} {
		var b strings.Builder
		entgql.Cursor[int]{ID: 9, Value: v}.MarshalGQL(&b)
		var c entgql.Cursor[int]
		require.NoError(t, c.UnmarshalGQL(strings.Trim(b.String(), `"`)))
		got, ok := cursorTime(c.Value)
		require.True(t, ok, "%T", c.Value)
		require.True(t, got.Equal(at), "%s", got)
	}
}
