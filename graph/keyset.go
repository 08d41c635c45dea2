package graph

import (
	"time"

	"entgo.io/contrib/entgql"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/predicate"
	"github.com/hooklens/hooklens/ent/webhookevent"
)

// receivedAtBound is a redundant bound on received_at for a page after (or
// before) a cursor of the events list in receipt order. entgql's cursor
// predicate is "received_at < v OR (received_at = v AND id > i)", which no
// index range answers: PostgreSQL walked the received_at index from the
// newest row to the cursor (6 s for a deep page at ten million events).
// "received_at <= v" beside it is a range the index answers at any depth.
// nil when the order or the cursor does not allow one.
func receivedAtBound(orderBy []*ent.WebhookEventOrder, after, before *entgql.Cursor[int]) predicate.WebhookEvent {
	if len(orderBy) != 1 || orderBy[0].Field != ent.WebhookEventOrderFieldReceivedAt {
		return nil
	}
	desc := orderBy[0].Direction == entgql.OrderDirectionDesc
	c, older := after, desc
	if c == nil {
		c, older = before, !desc
	}
	if c == nil {
		return nil
	}
	t, ok := cursorTime(c.Value)
	if !ok {
		return nil
	}
	if older {
		return webhookevent.ReceivedAtLTE(t)
	}
	return webhookevent.ReceivedAtGTE(t)
}

func cursorTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	case []any:
		if len(x) > 0 {
			return cursorTime(x[0])
		}
	}
	return time.Time{}, false
}
