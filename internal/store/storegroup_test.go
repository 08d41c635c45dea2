package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

func TestStoreGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t, "postgres")
	w := db.NewEventWriter()
	t.Cleanup(func() { _ = w.Close() })
	now := time.Now().UTC().Truncate(time.Microsecond)

	ev := func(id string, deliveries int) store.NewEvent {
		return store.NewEvent{EventID: id, Topic: "customer_created", TopicKnown: true, CreatedAt: now,
			Body: []byte(`{"id":"` + id + `"}`), BodySHA256: "sha-" + id, BodySize: 10, Deliveries: deliveries}
	}
	dl := func(id string) store.NewDelivery {
		return store.NewDelivery{ReceivedAt: now, RemoteAddr: "127.0.0.1", Outcome: "accepted", DwollaEventID: id, LatencyMS: 1.5}
	}

	// First group: a new event delivered once, another delivered twice.
	stored, err := w.StoreGroup(ctx, now, []store.NewEvent{ev("b", 1), ev("a", 2)},
		[]store.NewDelivery{dl("b"), dl("a"), dl("a")}, []string{"b", "a", "a"})
	require.NoError(t, err)
	require.Len(t, stored, 2)
	require.Equal(t, "b", stored[0].EventID, "results follow the order of evs")
	require.True(t, stored[0].New)
	require.True(t, stored[1].New)

	// Second group: "a" again, a new "c", and a rejected delivery linked to nothing.
	rejected := store.NewDelivery{ReceivedAt: now, Outcome: "bad_signature", StatusCode: 401, Reason: "signature mismatch"}
	stored2, err := w.StoreGroup(ctx, now.Add(time.Second), []store.NewEvent{ev("a", 1), ev("c", 1)},
		[]store.NewDelivery{dl("a"), dl("c"), rejected}, []string{"a", "c", ""})
	require.NoError(t, err)
	require.Equal(t, stored[1].ID, stored2[0].ID, "a stored event keeps its row")
	require.False(t, stored2[0].New)
	require.True(t, stored2[1].New)

	var count int
	var last time.Time
	require.NoError(t, db.Write.QueryRowContext(ctx,
		"SELECT delivery_count, last_delivery_at FROM webhook_events WHERE event_id = 'a'").Scan(&count, &last))
	require.Equal(t, 3, count, "every delivery of a counts")
	require.True(t, last.Equal(now.Add(time.Second)))

	rows, err := db.Write.QueryContext(ctx, `SELECT COALESCE(d.dwolla_event_id, ''), d.outcome, d.status_code,
		COALESCE(e.event_id, '') FROM webhook_deliveries d LEFT JOIN webhook_events e ON e.id = d.webhook_event_id
		ORDER BY d.id`)
	require.NoError(t, err)
	defer rows.Close()
	type row struct {
		delivery, outcome string
		status            int
		linked            string
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.delivery, &r.outcome, &r.status, &r.linked))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.ElementsMatch(t, []row{
		{"b", "accepted", 200, "b"},
		{"a", "accepted", 200, "a"},
		{"a", "duplicate", 200, "a"},
		{"a", "duplicate", 200, "a"},
		{"c", "accepted", 200, "c"},
		{"", "bad_signature", 401, ""},
	}, got)

	_, err = w.StoreGroup(ctx, now, []store.NewEvent{ev("d", 1)}, []store.NewDelivery{dl("d")}, nil)
	require.Error(t, err, "one link per delivery")

	sqlite := dbtest.Open(t, "sqlite").NewEventWriter()
	_, err = sqlite.StoreGroup(ctx, now, nil, nil, nil)
	require.Error(t, err, "SQLite group commits use a transaction")
}
