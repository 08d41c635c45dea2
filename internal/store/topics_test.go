package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
)

// TestTopicCounts: the topic catalogue's counts come from the rollups
// plus the queue, without reading the events, and agree with what was
// received, before and after processing.
func TestTopicCounts(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Add(-time.Second).Truncate(time.Microsecond)
		var evs []store.NewEvent
		for i, topic := range []string{"customer_created", "customer_created", "customer_created", "transfer_completed", "transfer_completed"} {
			id := fmt.Sprintf("t-%d", i)
			evs = append(evs, store.NewEvent{EventID: id, Topic: topic, TopicKnown: true, CreatedAt: now, Source: "webhook",
				Body: []byte(`{}`), BodySHA256: "x", BodySize: 2, Deliveries: 1})
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = db.InsertEvents(ctx, tx, now, evs)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())

		check := func(when string) {
			got, err := db.TopicCounts(ctx)
			require.NoError(t, err)
			require.Equal(t, 3, got["customer_created"].Count, when)
			require.Equal(t, 2, got["transfer_completed"].Count, when)
			require.True(t, got["customer_created"].Last.Equal(now), "%s: last %s, want %s", when, got["customer_created"].Last, now)
		}
		check("queued")
		p := pipeline.New(db, live.NewHub("t"), metrics.New(), slog.New(slog.DiscardHandler), "t", pipeline.Options{})
		n, err := p.Round(ctx)
		require.NoError(t, err)
		require.Equal(t, 5, n)
		check("processed")
	})
}
