package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/web"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// counts the middlewares and not a recorder's growing buffers.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkWebhookMiddleware is the per-request work of the middlewares the
// server stacks around the webhook route (metrics, request id, recovery,
// access log at the default level, CORS) for a POST with no Origin, around
// a handler that only answers. The receiver's own work is in
// BenchmarkWebhookRequest (internal/app) and BenchmarkReceive.
func BenchmarkWebhookMiddleware(b *testing.B) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/webhooks/dwolla/v2", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := web.Chain(m.InstrumentHTTP(mux), web.WithRequestID, web.Recover(log), web.AccessLog(log), web.CORS(nil))
	req := httptest.NewRequest(http.MethodPost, "/api/webhooks/dwolla/v2", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dwolla-webhooks/1.1")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}
