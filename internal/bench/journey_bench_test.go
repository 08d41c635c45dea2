package bench_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hooklens/hooklens/internal/bench"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
	"github.com/hooklens/hooklens/internal/tracker"
)

// BenchmarkJourneyStage runs the journeys stage — route, record
// memberships, re-evaluate every touched journey from all its events, write
// the instances — on one batch of 100 simulated events inside its own
// transaction, as the pipeline does. Earlier batches stay stored, so
// journeys grow as in a real stream.
func BenchmarkJourneyStage(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			db := dbtest.Open(b, kind)
			tr := tracker.New(db, live.NewHub("bench"), slog.New(slog.DiscardHandler))
			if err := tr.Seed(ctx); err != nil {
				b.Fatal(err)
			}
			if err := tr.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			const batch = 100
			batches := storedBatches(b, db, b.N, batch)
			m := bench.NewMeter(b, db)
			b.ReportAllocs()
			b.ResetTimer()
			m.Start()
			for _, evs := range batches {
				tx, err := db.Write.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tr.Apply(ctx, tx, evs, time.Now()); err != nil {
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

// storedBatches stores n×size simulated events and returns them as the
// pipeline would claim them, in stream order.
func storedBatches(b *testing.B, db *store.DB, n, size int) [][]*pipeline.Event {
	b.Helper()
	ctx := context.Background()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 9})
	if err != nil {
		b.Fatal(err)
	}
	payloads, err := g.Payloads(n*size, "s", simulate.StreamOptions{Rate: 1000})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	out := make([][]*pipeline.Event, 0, n)
	for start := 0; start < len(payloads); start += size {
		var evs []store.NewEvent
		var claimed []*pipeline.Event
		for _, p := range payloads[start:min(start+size, len(payloads))] {
			ev, err := dwolla.ParseEvent(p.Body)
			if err != nil {
				b.Fatal(err)
			}
			evs = append(evs, store.NewEvent{
				EventID: ev.ID, Topic: ev.Topic, TopicKnown: true, ResourceType: ev.ResourceType, ResourceID: ev.ResourceID,
				CustomerID: ev.CustomerID, CorrelationID: ev.CorrelationID, CreatedAt: ev.Created, Source: "webhook",
				Body: p.Body, BodySHA256: "x", BodySize: len(p.Body), Deliveries: 1,
			})
			claimed = append(claimed, &pipeline.Event{
				EventID: ev.ID, Topic: ev.Topic, ResourceType: ev.ResourceType, ResourceID: ev.ResourceID,
				CustomerID: ev.CustomerID, CorrelationID: ev.CorrelationID, CreatedAt: ev.Created, ReceivedAt: now, Source: "webhook",
			})
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stored, err := db.InsertEvents(ctx, tx, now, dedupe(evs))
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		ids := map[string]int{}
		for _, s := range stored {
			ids[s.EventID] = s.ID
		}
		var batch []*pipeline.Event
		seen := map[string]bool{}
		for _, c := range claimed {
			if seen[c.EventID] {
				continue
			}
			seen[c.EventID] = true
			c.ID = ids[c.EventID]
			batch = append(batch, c)
		}
		out = append(out, batch)
	}
	return out
}

func dedupe(evs []store.NewEvent) []store.NewEvent {
	seen := map[string]bool{}
	out := evs[:0]
	for _, e := range evs {
		if !seen[e.EventID] {
			seen[e.EventID] = true
			out = append(out, e)
		}
	}
	return out
}
