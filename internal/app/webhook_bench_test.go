package app_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
	"github.com/hooklens/hooklens/internal/netguard"
	"github.com/hooklens/hooklens/internal/simulate"
)

// BenchmarkWebhookRequest sends one signed, new webhook through the
// server's real handler: "chain" is the whole HTTP stack the server runs
// (metrics, proxy resolver, request id, recovery, access log, security
// headers, CORS, routing) around the receiver, "receiver" the receiver
// alone, on the same SQLite database in the same run, 64 in flight. Their
// difference is the per-request cost of everything but the webhook's own
// work. No socket: net/http's own parsing is not ours to trim.
func BenchmarkWebhookRequest(b *testing.B) {
	s := apptest.Start(b, "sqlite", apptest.Options{Configure: func(c *config.Config) {
		c.WebhookGlobalLimit = netguard.Rate{} // a benchmark is not a flood
	}})
	g, err := simulate.NewGenerator(simulate.Config{Seed: 12})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
	}{
		{"chain", s.App.Handler()},
		{"receiver", s.App.Receiver},
	} {
		b.Run(tc.name, func(b *testing.B) {
			payloads, err := g.Payloads(b.N, apptest.Secret, simulate.StreamOptions{Rate: 1000})
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
					req.Header.Set("User-Agent", dwolla.UserAgent)
					req.Header.Set(dwolla.TopicHeader, p.Topic)
					req.Header.Set(dwolla.SignatureHeader, p.Signature)
					w := httptest.NewRecorder()
					tc.handler.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
