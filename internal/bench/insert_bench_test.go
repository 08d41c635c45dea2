package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// BenchmarkInsert is one group commit as ingest writes it — the events
// and one delivery each, with a store.EventWriter's prepared statements, in
// one transaction — at a light-load and a heavy-load batch size. Besides
// wall time it reports CPU time and, on SQLite, WAL pages per op (see
// bench.Meter).
func BenchmarkInsert(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		for _, size := range []int{1, 4, 13, 64} {
			b.Run(fmt.Sprintf("%s/batch-%d", kind, size), func(b *testing.B) {
				ctx := context.Background()
				db := dbtest.Open(b, kind)
				body := []byte(`{"id":"x","topic":"customer_transfer_created","created":"2026-01-01T00:00:00.000Z","_links":{}}`)
				w := db.NewEventWriter()
				defer w.Close()
				n := 0
				m := bench.NewMeter(b, db)
				b.ReportAllocs()
				b.ResetTimer()
				m.Start()
				for b.Loop() {
					now := time.Now().UTC()
					evs := make([]store.NewEvent, size)
					ds := make([]store.NewDelivery, size)
					for i := range evs {
						n++
						id := fmt.Sprintf("%08x-0000-4000-8000-%012x", n*2654435761%(1<<32), n)
						evs[i] = store.NewEvent{
							EventID: id, Topic: "customer_transfer_created", HeaderTopic: "customer_transfer_created", TopicKnown: true,
							ResourceType: "transfers", ResourceID: fmt.Sprintf("tr-%d", n), CustomerID: fmt.Sprintf("cu-%d", n/3),
							CreatedAt: now, Source: "webhook", Body: body, BodySHA256: "00", BodySize: len(body), Deliveries: 1,
						}
						ds[i] = store.NewDelivery{ReceivedAt: now, RemoteAddr: "127.0.0.1", Outcome: "accepted", StatusCode: 200,
							LatencyMS: 1, BodySize: len(body), BodySHA256: "00", DwollaEventID: id, TopicHeader: evs[i].Topic,
							UserAgent: "dwolla-webhooks/1.1", RequestID: id[:8]}
					}
					if err := w.Prepare(ctx); err != nil {
						b.Fatal(err)
					}
					tx, err := db.Write.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					stored, err := w.InsertEvents(ctx, tx, now, evs)
					if err != nil {
						b.Fatal(err)
					}
					for i := range ds {
						ds[i].WebhookEventID = stored[i].ID
					}
					if err := w.InsertDeliveries(ctx, tx, ds); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
				m.Stop()
			})
		}
	}
}
