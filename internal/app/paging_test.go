package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// TestEventsPagesInReceiptOrder walks the events list newest first with
// Relay cursors, across events received at the same instant: every event
// once, none skipped, in order, and filtered by processing state.
func TestEventsPagesInReceiptOrder(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			ctx := context.Background()
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
			want := 0
			for g := 0; g < 9; g++ {
				// Five events share each receipt time.
				var evs []store.NewEvent
				for i := 0; i < 5; i++ {
					id := fmt.Sprintf("pg-%02d-%d", g, i)
					evs = append(evs, store.NewEvent{EventID: id, Topic: "customer_created", TopicKnown: true, CreatedAt: base,
						Source: "sync", Body: []byte(`{"id":"` + id + `"}`), BodySHA256: "x", BodySize: 10})
				}
				tx, err := s.App.DB.Write.BeginTx(ctx, nil)
				require.NoError(t, err)
				_, err = s.App.DB.InsertEvents(ctx, tx, base.Add(time.Duration(g)*time.Second), evs)
				require.NoError(t, err)
				require.NoError(t, tx.Commit())
				want += len(evs)
			}
			type page struct {
				Events struct {
					TotalCount int `json:"totalCount"`
					PageInfo   struct {
						HasNextPage bool   `json:"hasNextPage"`
						EndCursor   string `json:"endCursor"`
					} `json:"pageInfo"`
					Edges []struct {
						Node struct {
							EventID         string    `json:"eventID"`
							ReceivedAt      time.Time `json:"receivedAt"`
							ProcessingState string    `json:"processingState"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"events"`
			}
			seen := map[string]bool{}
			var last time.Time
			var after any
			for round := 0; ; round++ {
				require.Less(t, round, 20)
				var p page
				s.MustGraphQL(`query($after: Cursor) { events(first: 7, after: $after, orderBy: [{field: RECEIVED_AT, direction: DESC}]) {
					totalCount pageInfo { hasNextPage endCursor } edges { node { eventID receivedAt processingState } } } }`,
					map[string]any{"after": after}, &p)
				for _, e := range p.Events.Edges {
					require.False(t, seen[e.Node.EventID], "%s twice", e.Node.EventID)
					seen[e.Node.EventID] = true
					if !last.IsZero() {
						require.False(t, e.Node.ReceivedAt.After(last), "newest first")
					}
					last = e.Node.ReceivedAt
				}
				if !p.Events.PageInfo.HasNextPage {
					break
				}
				after = p.Events.PageInfo.EndCursor
			}
			require.Len(t, seen, want)

			// The state filter reads the queue: nothing processed yet, until
			// the pipeline has run.
			var q page
			s.MustGraphQL(`{ events(first: 100, where: {processingStateIn: [queued, failed]}) { totalCount } }`, nil, &q)
			if q.Events.TotalCount != want {
				// The pipeline may have processed some already.
				require.LessOrEqual(t, q.Events.TotalCount, want)
			}
			require.Eventually(t, func() bool {
				var p page
				s.MustGraphQL(`{ events(first: 100, where: {processingState: processed}) { totalCount edges { node { processingState } } } }`, nil, &p)
				return p.Events.TotalCount == want && p.Events.Edges[0].Node.ProcessingState == "processed"
			}, 20*time.Second, 50*time.Millisecond)
			s.MustGraphQL(`{ events(first: 100, where: {processingStateIn: [queued, failed]}) { totalCount } }`, nil, &q)
			require.Zero(t, q.Events.TotalCount)
		})
	}
}
