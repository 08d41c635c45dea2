package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/store"
)

// BenchmarkClaim claims one batch of 100 due events from a queue and marks
// it processed with its rollups, with no stage, as each database's workers
// do: the queue's own cost per batch. Journeys are measured apart (internal/bench, internal/journey).
func BenchmarkClaim(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := dbtest.Open(b, kind)
			// One transaction claims and processes a batch (runBatch); the
			// batch size does not adapt here, so every round takes 100.
			p := New(db, live.NewHub("bench"), metrics.New(), slog.New(slog.DiscardHandler), "bench", Options{TxBudget: -1})
			const batch = 100
			fillQueue(b, db, b.N*batch)
			ctx := context.Background()
			m := bench.NewMeter(b, db)
			b.ReportAllocs()
			b.ResetTimer()
			m.Start()
			for i := 0; i < b.N; i++ {
				n, err := p.runBatch(ctx, "w0")
				if err != nil {
					b.Fatal(err)
				}
				if n != batch {
					b.Fatalf("claimed %d events, want %d", n, batch)
				}
			}
			m.Stop()
		})
	}
}

// fillQueue stores n queued events.
func fillQueue(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Add(-time.Second)
	topics := []string{"customer_created", "customer_transfer_created", "customer_transfer_completed", "customer_funding_source_added"}
	for start := 0; start < n; start += 500 {
		evs := make([]store.NewEvent, 0, 500)
		for i := start; i < min(start+500, n); i++ {
			body := []byte(fmt.Sprintf(`{"id":"ev-%08d"}`, i))
			evs = append(evs, store.NewEvent{
				EventID: fmt.Sprintf("ev-%08d", i), Topic: topics[i%len(topics)], TopicKnown: true,
				ResourceType: "customers", ResourceID: fmt.Sprintf("res-%06d", i/4), CustomerID: fmt.Sprintf("cus-%06d", i/8),
				CreatedAt: now, Source: "webhook", Body: body, BodySHA256: "x", BodySize: len(body), Deliveries: 1,
			})
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.InsertEvents(ctx, tx, now, evs); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
