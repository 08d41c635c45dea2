package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// TestJourneyMembersUseTheIndex: reading a batch's journeys and their
// events looks each journey up through the memberships' unique index and
// each event by its primary key, on a table never analysed (as on a
// server whose autovacuum is off): the plan comes from the statement's
// form, not from statistics.
func TestJourneyMembersUseTheIndex(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		const events = 3000
		evs := make([]store.NewEvent, events)
		for i := range evs {
			id := fmt.Sprintf("ev-%05d", i)
			evs[i] = store.NewEvent{EventID: id, Topic: "customer_transfer_created", TopicKnown: true, CreatedAt: now,
				Body: []byte(`{"id":"` + id + `"}`), BodySHA256: "x", BodySize: 10}
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		stored, err := db.InsertEvents(ctx, tx, now, evs)
		require.NoError(t, err)
		// Three events per journey, in two definitions.
		var ms []store.Membership
		for i, s := range stored {
			ms = append(ms, store.Membership{Journey: store.JourneyKey{Definition: []string{"transfer", "customer"}[i%2], Key: fmt.Sprintf("k-%04d", i/6)}, EventID: s.ID})
		}
		require.NoError(t, db.AddMemberships(ctx, tx, ms))
		require.NoError(t, db.AddMemberships(ctx, tx, ms[:10]), "a membership recorded twice is kept once")
		keys := []store.JourneyKey{{"transfer", "k-0001"}, {"customer", "k-0002"}, {"transfer", "nobody"}}
		got, err := db.JourneyMembers(ctx, tx, keys)
		require.NoError(t, err)
		require.Len(t, got[keys[0]], 3)
		require.Len(t, got[keys[1]], 3)
		require.Empty(t, got[keys[2]])
		for _, e := range got[keys[0]] {
			require.True(t, strings.HasPrefix(e.EventID, "ev-000"), e.EventID)
		}
		require.NoError(t, tx.Commit())

		args, err := db.JourneyMembersArgs(keys)
		require.NoError(t, err)
		var plan []string
		if db.Postgres() {
			rows, err := db.Read.QueryContext(ctx, "EXPLAIN "+db.JourneyMembersQuery(), args...)
			require.NoError(t, err)
			for rows.Next() {
				var line string
				require.NoError(t, rows.Scan(&line))
				plan = append(plan, line)
			}
			require.NoError(t, rows.Close())
			text := strings.Join(plan, "\n")
			require.NotContains(t, text, "Seq Scan on journey_memberships", text)
			require.NotContains(t, text, "Seq Scan on webhook_events", text)
			require.Contains(t, text, "Index", text)
			return
		}
		rows, err := db.Read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+db.JourneyMembersQuery(), args...)
		require.NoError(t, err)
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		text := strings.Join(plan, "\n")
		require.Contains(t, text, "SEARCH m USING", text)
		require.Contains(t, text, "SEARCH e USING INTEGER PRIMARY KEY", text)
		require.NotContains(t, text, "SCAN m", text)
		require.NotContains(t, text, "SCAN e", text)
	})
}
