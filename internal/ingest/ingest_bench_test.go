package ingest_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/simulate"
)

const benchSecret = "bench-secret"

// BenchmarkReceive is the receiver's whole path for one new event — size
// and signature checks, parse, group commit into the real database, answer
// — with 64 deliveries in flight, as under load. No HTTP: the load
// generator (`hooklens bench`) measures that.
func BenchmarkReceive(b *testing.B) {
	for _, kind := range dbtest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := dbtest.Open(b, kind)
			r := ingest.NewReceiver(db, live.NewHub("bench"), metrics.New(), slog.New(slog.DiscardHandler), ingest.Options{
				Verifier: dwolla.NewVerifier(benchSecret),
			})
			r.Start()
			b.Cleanup(func() { _ = r.Close(b.Context()) })
			g, err := simulate.NewGenerator(simulate.Config{Seed: 11})
			if err != nil {
				b.Fatal(err)
			}
			payloads, err := g.Payloads(b.N, benchSecret, simulate.StreamOptions{Rate: 1000})
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := payloads[next.Add(1)-1]
					req := httptest.NewRequest(http.MethodPost, ingest.Path, bytes.NewReader(p.Body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(dwolla.TopicHeader, p.Topic)
					req.Header.Set(dwolla.SignatureHeader, p.Signature)
					w := httptest.NewRecorder()
					r.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
